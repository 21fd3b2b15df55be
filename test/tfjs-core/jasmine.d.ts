/** The part of the `jasmine` runner package (which ships no types) that the suite runner uses. */
declare module 'jasmine' {
  export interface SpecResult {
    fullName: string;
    status: 'passed' | 'failed' | 'pending' | 'excluded' | string;
    failedExpectations: { message: string }[];
  }
  export interface Reporter {
    specDone?(result: SpecResult): void;
    jasmineDone?(result: { overallStatus: string; incompleteReason?: string }): void;
  }
  export default class Jasmine {
    constructor(options?: { globals?: boolean });
    exitOnCompletion: boolean;
    jasmine: { DEFAULT_TIMEOUT_INTERVAL: number };
    env: { configure(options: { random?: boolean; stopOnSpecFailure?: boolean }): void };
    clearReporters(): void;
    addReporter(reporter: Reporter): void;
    execute(files?: string[]): Promise<{ overallStatus: string }>;
  }
}
