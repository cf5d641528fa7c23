import type { SuiteResult } from './run-suite.js';

/** A suite file that could not be loaded, and why (the error's message). */
export interface BrokenSuite {
  readonly file: string;
  readonly reason: string;
}

/**
 * JUnit XML for suite results, as CI systems (GitHub Actions reporters, GitLab, Jenkins) read it. Each
 * suite that could not load is one errored test case, so a report never looks green with 0 tests.
 *
 * @example
 * ```ts
 * await writeFile('policy-tests.xml', junitXml([await runSuite('fleet.test.yaml')]));
 * ```
 */
export function junitXml(results: readonly SuiteResult[], broken: readonly BrokenSuite[] = []): string {
  const total = results.reduce((n, r) => n + r.cases.length, 0) + broken.length;
  const failures = results.reduce((n, r) => n + r.failed, 0);
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="mqtt-warden policy tests" tests="${total}" failures="${failures}" errors="${broken.length}">`,
  ];
  for (const { file, reason } of broken) {
    lines.push(
      `  <testsuite name="${escapeXml(file)}" tests="1" failures="0" errors="1" time="0.000">`,
      `    <testcase classname="${escapeXml(file)}" name="load ${escapeXml(file)}" time="0.000">`,
      `      <error message="the suite could not load" type="SuiteLoadError">${escapeXml(reason)}</error>`,
      '    </testcase>',
      '  </testsuite>',
    );
  }
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
