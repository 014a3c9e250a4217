#!/usr/bin/env node
/**
 * The `vaultpilot` command (`npx vaultpilot ...` in a checkout, `vaultpilot ...` in the image).
 * Needs Node 24 (type stripping); `npx` puts the project's pinned Node first on PATH.
 */
import { main } from '../cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
