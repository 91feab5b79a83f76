/**
 * `work`, or the error `timedOut` gives when `work` has not settled within `ms`. What `work` does is not
 * stopped (its outcome, should it come, is dropped), and the timer is cleared as soon as it settles.
 */
export function within<T>(work: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms)
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}
