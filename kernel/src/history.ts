/** In-memory input history for history_request (tail, range, search), one session per kernel run. */

export type HistoryEntry = [session: number, line: number, input: string | [string, string | null]];

const SESSION = 1;

export class History {
  private readonly entries: Array<{ line: number; input: string; output: string | null }> = [];

  add(line: number, input: string, output: string | null): void {
    this.entries.push({ line, input, output });
  }

  query(req: Record<string, any>): HistoryEntry[] {
    let rows = this.entries;
    switch (req.hist_access_type) {
      case "tail":
        rows = rows.slice(-(req.n ?? 10));
        break;
      case "range": {
        const start = req.start ?? 0;
        const stop = req.stop ?? Infinity;
        rows = req.session === SESSION || req.session === 0 ? rows.filter((r) => r.line >= start && r.line < stop) : [];
        break;
      }
      case "search": {
        const pattern = globToRegExp(req.pattern ?? "*");
        rows = rows.filter((r) => pattern.test(r.input));
        if (req.unique) {
          const seen = new Set<string>();
          rows = rows.filter((r) => {
            if (seen.has(r.input)) return false;
            seen.add(r.input);
            return true;
          });
        }
        if (req.n) rows = rows.slice(-req.n);
        break;
      }
      default:
        return [];
    }
    return rows.map((r) => [SESSION, r.line, req.output ? [r.input, r.output] : r.input]);
  }
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, "[\\s\\S]*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}
