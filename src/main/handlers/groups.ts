/** Consumer-group APIs. */
import type { SupportedApi } from '../api-versions.js';

export const groupApis: SupportedApi[] = [];
