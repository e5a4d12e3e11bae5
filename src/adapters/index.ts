export * from './lora-parameters';
export * from './sites';
export * from './lora';
export * from './composition';
export * from './clora';
export * from './merge';
