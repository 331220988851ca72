/** A start-up failure reported as one line (service, address, cause) and a non-zero exit. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
