/**
 * Installs the kernelspec ("TypeScript (LoRA Recycle)") into a Jupyter data directory:
 * --user, --sys-prefix (of the Python given by --python, default the active venv) or --prefix.
 * The spec runs this Node binary on `launch.js`, a launcher written beside kernel.json
 * (`{resource_dir}`, which Jupyter fills in): it starts this checkout's kernel/dist/main.js, found
 * first by its path relative to the kernelspec (so a checkout moved together with the kernelspec
 * inside it, e.g. in its .venv, keeps working), then by the absolute path at install time. When
 * neither exists it says so and names the command that installs the kernelspec again.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const KERNEL_NAME = "lora-recycle-ts";
export const DISPLAY_NAME = "TypeScript (LoRA Recycle)";

export interface InstallOptions {
  target: "user" | "sys-prefix" | "prefix";
  prefix?: string;
  python?: string;
  name?: string;
}

/** The built entry point of this kernel (kernel/dist/main.js). */
const MAIN_JS = path.join(__dirname, "main.js");

export function kernelSpec(): Record<string, unknown> {
  return {
    argv: [process.execPath, "{resource_dir}/launch.js", "kernel", "--connection-file", "{connection_file}"],
    display_name: DISPLAY_NAME,
    language: "typescript",
    interrupt_mode: "signal",
    metadata: { debugger: false },
  };
}

export function kernelsDir(opts: InstallOptions): string {
  switch (opts.target) {
    case "prefix":
      if (!opts.prefix) throw new Error("install --prefix: expected a directory, found nothing");
      return path.join(path.resolve(opts.prefix), "share", "jupyter", "kernels");
    case "sys-prefix": {
      const python = opts.python ?? (process.env.VIRTUAL_ENV ? path.join(process.env.VIRTUAL_ENV, "bin", "python") : "python3");
      const prefix = execFileSync(python, ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" }).trim();
      return path.join(prefix, "share", "jupyter", "kernels");
    }
    case "user":
      return path.join(userDataDir(), "kernels");
  }
}

function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === "darwin") return path.join(os.homedir(), "Library", "Jupyter");
  if (process.platform === "win32") return path.join(process.env.APPDATA ?? os.homedir(), "jupyter");
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), ".local", "share"), "jupyter");
}

/**
 * The launcher of a kernelspec in `specDir` for the kernel entry point `mainJs`: plain CommonJS
 * that runs mainJs with the arguments it was given.
 */
export function launcherSource(specDir: string, mainJs: string): string {
  const relative = path.relative(specDir, mainJs);
  return `// Written by "main.js install" (kernel/src/install.ts): starts the lora-recycle kernel.
"use strict";
const fs = require("fs");
const path = require("path");
// relative to this kernelspec first (the checkout moved with it), then where it was installed from
const candidates = [path.resolve(__dirname, ${JSON.stringify(relative)}), ${JSON.stringify(mainJs)}];
const main = candidates.find((file) => fs.existsSync(file));
if (!main) {
  console.error("lora-recycle kernel: expected kernel/dist/main.js at " + candidates.join(" or ") + ", found neither " +
    "(the checkout moved or its kernel is not built); in the checkout run: bash scripts/install-jupyter.sh");
  process.exit(1);
}
process.argv[1] = main;
require(main);
`;
}

/** Writes <kernels>/<name>/ (kernel.json and launch.js) atomically (temp dir + rename); returns the spec dir. */
export function install(opts: InstallOptions, mainJs = MAIN_JS): string {
  const dir = path.join(kernelsDir(opts), opts.name ?? KERNEL_NAME);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  fs.writeFileSync(path.join(tmp, "kernel.json"), `${JSON.stringify(kernelSpec(), null, 2)}\n`);
  fs.writeFileSync(path.join(tmp, "launch.js"), launcherSource(dir, mainJs));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}
