export * from './select';
export { initWasmBackend, WASM_THREADS_ENV, type WasmBackendInfo } from './wasm';
