import type { SuiteResult } from './run-suite.js';

/**
 * JUnit XML for suite results, as CI systems (GitHub Actions reporters, GitLab, Jenkins) read it.
 *
 * @example
 * ```ts
 * await writeFile('policy-tests.xml', junitXml([await runSuite('fleet.test.yaml')]));
 * ```
 */
export function junitXml(results: readonly SuiteResult[]): string {
  const total = results.reduce((n, r) => n + r.cases.length, 0);
  const failures = results.reduce((n, r) => n + r.failed, 0);
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="mqtt-warden policy tests" tests="${total}" failures="${failures}" errors="0">`,
  ];
  for (const suite of results) {
    lines.push(
      `  <testsuite name="${escapeXml(suite.file)}" tests="${suite.cases.length}" failures="${suite.failed}" errors="0" time="${seconds(suite.durationMs)}">`,
    );
    for (const c of suite.cases) {
      const open = `    <testcase classname="${escapeXml(suite.file)}" name="${escapeXml(c.name)}" time="${seconds(c.durationMs)}"`;
      if (c.passed) {
        lines.push(`${open}/>`);
      } else {
        lines.push(
          `${open}>`,
          `      <failure message="expected ${c.expected}, got ${c.actual}" type="PolicyAssertion">${escapeXml(c.text)}</failure>`,
          '    </testcase>',
        );
      }
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

function escapeXml(text: string): string {
  // XML 1.0 cannot carry most control characters at all, even escaped.
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
