/** Thrown for an invalid topic name, filter or template. `code` is always `ERR_TOPIC_INVALID`. */
export class TopicError extends Error {
  readonly code = 'ERR_TOPIC_INVALID' as const;

  constructor(message: string) {
    super(message);
    this.name = 'TopicError';
  }
}
