// Types of what scripts/install-electron.mjs exports (for its test).
export declare const LATER_COMMAND: string;
export declare function failureSummary(output: string): string;
export declare function failureLine(reason: string): string;
export declare function installElectron(installScript: string, env?: Record<string, string | undefined>): string | null;
