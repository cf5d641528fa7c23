/** One source line and what became of it. */
export interface ReportEntry {
  readonly file: string;
  /** 1-based line in the source file (line-based formats). */
  readonly line?: number;
  /** Where in a structured source, e.g. `roles[2].acls[0]` (JSON formats). */
  readonly path?: string;
  /** The source line as written (control characters escaped when printed). */
  readonly text: string;
  /** Where it went (imported), how its meaning changed and why (changed), or why it was not imported (refused). */
  readonly message: string;
}

/**
 * What an import did: every rule imported, every rule whose meaning changed (and why), every rule refused,
 * and notes that apply to the whole file (e.g. how subscriptions are checked now).
 */
export interface ImportReport {
  readonly imported: readonly ReportEntry[];
  readonly changed: readonly ReportEntry[];
  readonly refused: readonly ReportEntry[];
  readonly notes: readonly string[];
}

/** A report being filled in by an importer. */
export class ReportBuilder {
  readonly imported: ReportEntry[] = [];
  readonly changed: ReportEntry[] = [];
  readonly refused: ReportEntry[] = [];
  readonly notes: string[] = [];

  build(): ImportReport {
    return { imported: this.imported, changed: this.changed, refused: this.refused, notes: this.notes };
  }
}

/**
 * The report as text for a terminal: counts first, then each changed and refused line with its reason,
 * then the notes. Source text is quoted with control characters escaped.
 *
 * @example
 * ```ts
 * const { report } = importMosquittoAcl(text, { file: 'acl.conf' });
 * console.log(formatImportReport(report));
 * ```
 */
export function formatImportReport(
  report: ImportReport,
  options: { verbose?: boolean; noun?: 'rules' | 'users'; verb?: 'imported' | 'exported' } = {},
): string {
  const verb = options.verb ?? 'imported';
  const lines = [
    `${verb}: ${report.imported.length} ${options.noun ?? 'rules'}; changed meaning: ${report.changed.length}; refused: ${report.refused.length}`,
  ];
  const section = (title: string, entries: readonly ReportEntry[]) => {
    if (entries.length === 0) return;
    lines.push('', `${title}:`);
    const byLine = [...entries].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    for (const e of byLine) {
      const where = e.line !== undefined ? `${e.file}:${e.line}` : `${e.file} ${e.path ?? ''}`;
      lines.push(`  ${where}: ${quote(e.text)}`, `    ${e.message}`);
    }
  };
  if (options.verbose) section(verb, report.imported);
  section('changed meaning', report.changed);
  section('refused', report.refused);
  if (report.notes.length > 0) {
    lines.push('', 'notes:');
    for (const note of report.notes) lines.push(`  - ${note}`);
  }
  return lines.join('\n');
}

/** Source text made safe for a terminal and for a YAML comment: control characters become \uXXXX. */
export function quote(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to escape
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
