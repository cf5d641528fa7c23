// Preloaded (node --import) into each server child of the bench, never into a production process: it answers
// the parent's IPC 'probe' with the child's own CPU time (all its threads) and RSS, so the bench can report
// server CPU per request however much of the 2 cores the load generator took.
process.on('message', (message) => {
  if (message === 'probe') {
    process.send({ probe: { cpu: process.cpuUsage(), rss: process.memoryUsage().rss } });
  }
});
// A bench that died must not leave its servers running.
process.on('disconnect', () => process.exit(0));
