// Types of the pure helpers scripts/provision-tensorflow.mjs exports (for its test).
export declare const TFJS_VERSION: string;
export declare const TF_WHEEL_REQUIREMENT: string;
export declare const BINDING_LIBTENSORFLOW_VERSION: string;
export declare const HEADER_PREFIXES: string[];
export declare const WHEEL_LIBRARIES: string[];
export declare function wheelExtractionPlan(names: string[]): [string, string][];
export declare function libraryLinks(version?: string): [string, string][];
export declare function cacheDir(env?: Record<string, string | undefined>, home?: string): string;
export declare function localNodeDir(env?: Record<string, string | undefined>, execPath?: string): string | null;
export declare function failureReason(output: string): string;
