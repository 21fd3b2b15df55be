/** What every SVG chart paragen draws shares: escaping, round axes, tick labels, figures. */

/** A figure with the digits it needs: 1,234 · 12.3 · 1.23 · 0.12. */
export function figure(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

/** Escapes text and attribute values. */
export function xml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** A round axis maximum at or above `max`, and its tick step. */
export function axis(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) {
    const top = m * magnitude;
    if (top >= max) return { top, step: top / 5 };
  }
  return { top: 10 * magnitude, step: 2 * magnitude };
}

/** Axis labels: whole numbers plainly, fractions with what they need. */
export function tick(v: number): string {
  const rounded = Math.round(v * 1e6) / 1e6;
  return Number.isInteger(rounded) ? rounded.toLocaleString('en-US') : figure(rounded);
}

/** A standalone SVG document: white background, `title`, `style` rules, then `body`. */
export function svgDocument(width: number, height: number, title: string, style: readonly string[], body: readonly string[]): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${xml(title)}</title>`,
    `<style>\n${style.join('\n')}\n</style>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
