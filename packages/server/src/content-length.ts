/**
 * A `content-length` of 1 to 12 ASCII digits as its number, else NaN (Fastify refuses the rest).
 * Hand-written for the hot path; it accepts what `/^\d{1,12}$/` does (content-length.test.ts).
 */
export function contentLength(value: string): number {
  const n = value.length;
  if (n === 0 || n > 12) return Number.NaN;
  let number = 0;
  for (let i = 0; i < n; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    number = number * 10 + digit;
  }
  return number;
}
