/** kernel_info_reply content. */
import * as path from "path";

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export function kernelInfo(): Record<string, unknown> {
  const ts = require("@tslab/typescript-for-tslab");
  const tslab = require("tslab/package.json");
  const project = require(path.join(PROJECT_ROOT, "package.json"));
  return {
    status: "ok",
    protocol_version: "5.3",
    implementation: "lora-recycle-ts",
    implementation_version: project.version,
    language_info: {
      name: "typescript",
      version: ts.version,
      mimetype: "text/typescript",
      file_extension: ".ts",
      pygments_lexer: "typescript",
      codemirror_mode: { name: "javascript", typescript: true, mode: "typescript" },
    },
    banner:
      `TypeScript ${ts.version} on Node.js ${process.version} (tslab ${tslab.version} compiler, lora-recycle kernel); ` +
      `tfjs backend for selectBackend(): ${backendChoice()}`,
  };
}

/** What the library's selectBackend('auto') will pick here (from its build, without loading a backend). */
function backendChoice(): string {
  try {
    return require(path.join(PROJECT_ROOT, "dist", "backend")).autoChoiceText();
  } catch (error) {
    return `unknown (${error instanceof Error ? error.message.split("\n")[0] : error}; run npm run build)`;
  }
}
