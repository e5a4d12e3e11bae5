export { SeededRandom } from './seeded-random';
