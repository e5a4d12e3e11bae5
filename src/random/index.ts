export { loraSeed } from './lora-seed';
export { SeededRandom } from './seeded-random';
