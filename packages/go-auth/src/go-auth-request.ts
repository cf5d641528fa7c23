import { isMqttString, MQTT_STRING_MESSAGE } from '@mqtt-warden/core';
import { z } from 'zod';

const text = z.string().max(65_535);
const mqttString = text.refine(isMqttString, MQTT_STRING_MESSAGE);

/** go-auth's `acc`: a JSON number in json mode, a decimal string in form mode. */
const acc = z
  .union([z.number(), z.string().regex(/^\d+$/, 'must be a decimal number').transform(Number)])
  .pipe(
    z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)], {
      error: 'must be 1 (read), 2 (write), 3 (readwrite) or 4 (subscribe)',
    }),
  );

/**
 * Bodies as go-auth's HTTP backend sends them (backends/http.go). Other keys (a proxy's, a later
 * go-auth's) are stripped, and the plugin logs their names.
 */
export const userSchema = z.object({ username: mqttString, password: text, clientid: mqttString });
export const superuserSchema = z.object({ username: mqttString });
export const aclSchema = z.object({ username: mqttString, clientid: mqttString, topic: text.min(1), acc });

export type AclFields = z.infer<typeof aclSchema>;
