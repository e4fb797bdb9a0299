/** Answers for an admin request that will not be carried out: every topic it names gets the same error. */
import type { AdminRequest, TopicResult } from './metadata-types.js';

export function failAllTopics(req: AdminRequest, errorCode: number, errorMessage: string): TopicResult[] {
  if (req.op === 'deleteTopics') {
    return req.topics.map((t) => ('id' in t ? { name: '', id: t.id, errorCode, errorMessage } : { name: t.name, errorCode, errorMessage }));
  }
  return req.topics.map((t) => ({ name: t.name, errorCode, errorMessage }));
}
