/** Producer-id APIs. */
import type { SupportedApi } from '../api-versions.js';

export const producerIdApis: SupportedApi[] = [];
