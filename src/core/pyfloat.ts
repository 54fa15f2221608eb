/**
 * Python's `float // float` (CPython `float_floor_div`), which is not always `Math.floor(a / b)`:
 * it divides the exact remainder out first, so a quotient that rounds up to an integer is not floored wrongly.
 */
export const pyFloorDiv = (a: number, b: number): number => {
  if (b === 0) throw new RangeError("float floor division by zero")
  let mod = a % b // IEEE fmod, exact
  let div = (a - mod) / b
  if (mod !== 0) {
    if (b < 0 !== mod < 0) {
      mod += b
      div -= 1
    }
  }
  if (div !== 0) {
    let floordiv = Math.floor(div)
    if (div - floordiv > 0.5) floordiv += 1
    return floordiv
  }
  return Object.is(a / b, -0) || a / b < 0 ? -0 : 0
}
