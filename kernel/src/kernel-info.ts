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
    banner: `TypeScript ${ts.version} on Node.js ${process.version} (tslab ${tslab.version} compiler, lora-recycle kernel)`,
  };
}
