export * from './atomic-write';
export * from './safetensors';
export { SAFETENSORS_DTYPES, DTYPE_SIZE, type SafetensorsDtype } from './safetensors-codec';
export * from './hf-clip';
export * from './lora-file';
export * from './peft-adapter';
export * from './peft-head';
export * from './load-lora';
export * from './vit-file';
