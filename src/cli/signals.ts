/**
 * One AbortSignal for "stop now, cleanly": SIGINT, SIGTERM, or the parent
 * process (`start`) going away, which closes our IPC channel.
 */
let controller: AbortController | undefined;

export function stopSignal(): AbortSignal {
  if (!controller) {
    const c = (controller = new AbortController());
    const stop = () => c.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (process.send) process.once('disconnect', stop);
  }
  return controller.signal;
}
