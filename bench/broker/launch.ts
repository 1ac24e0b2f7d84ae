/** Starts the broker of this build, as bin/tributary.js does; bench/run.ts spawns it. */
import { main } from '../../src/main.ts';

await main(process.argv.slice(2));
