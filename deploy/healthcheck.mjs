// The container HEALTHCHECK: exit 0 when /healthz answers 200 on the port the server listens on
// (MQTT_WARDEN_PORT, as the image sets it), else 1. Node has fetch built in: no curl in the image.
// With listen.tls, point it at a plain listener instead: MQTT_WARDEN_HEALTHZ=http://127.0.0.1:9464/healthz
// (metrics.listen, which answers /healthz too).
const url =
  process.env.MQTT_WARDEN_HEALTHZ ?? `http://127.0.0.1:${process.env.MQTT_WARDEN_PORT ?? 8080}/healthz`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(4000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
