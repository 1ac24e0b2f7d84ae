#!/usr/bin/env node
import { main } from '../build/src/main.js';

await main(process.argv.slice(2));
