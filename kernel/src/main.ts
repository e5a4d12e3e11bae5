#!/usr/bin/env node
/**
 * Command line: `main.js kernel --connection-file FILE` (what Jupyter runs) and
 * `main.js install [--user | --sys-prefix [--python PY] | --prefix DIR] [--name NAME]`.
 */
import * as path from "path";
import { CellExecutor } from "./executor";
import { install, type InstallOptions } from "./install";
import { Kernel } from "./kernel";
import { log } from "./log";
import { KernelSockets } from "./sockets";

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
const USAGE = `usage:
  main.js kernel --connection-file FILE
  main.js install [--user | --sys-prefix [--python PY] | --prefix DIR] [--name NAME]`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("--")) throw new Error(`${name}: expected a value, found nothing\n${USAGE}`);
  return value;
}

async function startKernel(connectionFile: string): Promise<void> {
  const projectName: string = require(path.join(PROJECT_ROOT, "package.json")).name;
  const api = path.join(__dirname, "api");
  const executor: CellExecutor = new CellExecutor({
    rootDir: process.cwd(),
    projectRoot: PROJECT_ROOT,
    projectName,
    globalDeclarations: `declare global { const jupyter: import(${JSON.stringify(api)}).JupyterApi; }\n`,
    currentSignal: () => kernel.api.signal,
  });
  const kernel = new Kernel(KernelSockets.fromFile(connectionFile), executor);
  executor.setGlobal("jupyter", kernel.api);
  // errors thrown later by a cell's callbacks: shown on that cell's stderr, the kernel keeps running
  process.on("uncaughtException", (e) => console.error(`Uncaught ${e.stack ?? e}`));
  process.on("unhandledRejection", (e) => console.error(`Unhandled promise rejection: ${(e as Error)?.stack ?? e}`));
  process.on("SIGTERM", () => process.exit(0));
  await kernel.start();
}

function installCommand(args: string[]): void {
  const prefix = option(args, "--prefix");
  const opts: InstallOptions = {
    target: prefix ? "prefix" : args.includes("--sys-prefix") ? "sys-prefix" : "user",
    prefix,
    python: option(args, "--python"),
    name: option(args, "--name"),
  };
  console.log(`installed kernelspec in ${install(opts)}`);
}

function main(args: string[]): void {
  if (args[0] === "kernel") {
    const file = option(args, "--connection-file");
    if (!file) throw new Error(`kernel: expected --connection-file FILE\n${USAGE}`);
    startKernel(file).catch((e) => {
      log(`failed to start: ${e.stack ?? e}`);
      process.exit(1);
    });
  } else if (args[0] === "install") {
    installCommand(args.slice(1));
  } else {
    console.error(USAGE);
    process.exit(2);
  }
}

main(process.argv.slice(2));
