/**
 * Whether `value` can be an MQTT UTF-8 string (MQTT 3.1.1 §1.5.3, 5.0 §1.5.4): well-formed Unicode
 * without U+0000. A broker never sends another username or client id, so the adapters refuse it as
 * malformed input.
 *
 * @example
 * ```ts
 * isMqttString('sensor-1');   // true
 * isMqttString('a\u0000b');   // false
 * isMqttString('\ud800');     // false (a lone surrogate has no UTF-8 form)
 * ```
 */
export function isMqttString(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed();
}

/** The message for a value {@link isMqttString} refuses. */
export const MQTT_STRING_MESSAGE = 'must be well-formed UTF-8 without U+0000, as MQTT strings are';
