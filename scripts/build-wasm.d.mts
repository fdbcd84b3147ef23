// Types of what scripts/build-wasm.mjs exports (for the kernels' tests).
export declare function compileWat(relPath: string): Promise<Buffer>;
export declare function wasmModuleSource(relPath: string, bytes: Buffer): string;
