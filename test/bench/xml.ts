/**
 * A strict little XML reader for the chart tests (no XML parser among the
 * dependencies): it accepts well-formed documents — one root, balanced and
 * properly nested tags, quoted attributes without duplicates, known entities,
 * no stray `<` or `&` — and returns the elements, or throws saying where it
 * is not well-formed.
 */

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Text directly inside (entities decoded), concatenated. */
  readonly text: string;
  readonly children: readonly XmlElement[];
}

const NAME = /^[A-Za-z_][\w.:-]*/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string, at: number): string {
  return text.replace(/&([^;&<\s]*);?/g, (match, name: string) => {
    if (!match.endsWith(';')) throw new Error(`unterminated entity near offset ${at}`);
    if (name in ENTITIES) return ENTITIES[name]!;
    const code = /^#(x[0-9a-fA-F]+|\d+)$/.exec(name);
    if (code) return String.fromCodePoint(code[1]!.startsWith('x') ? parseInt(code[1]!.slice(1), 16) : Number(code[1]));
    throw new Error(`unknown entity &${name}; near offset ${at}`);
  });
}

interface Building {
  name: string;
  attributes: Record<string, string>;
  text: string;
  children: XmlElement[];
}

/** Parses `source`; throws on anything not well-formed. */
export function parseXml(source: string): XmlElement {
  let i = 0;
  const stack: Building[] = [];
  let root: XmlElement | undefined;
  const skipSpace = () => {
    while (i < source.length && /\s/.test(source[i]!)) i++;
  };
  if (source.startsWith('<?xml')) {
    const end = source.indexOf('?>');
    if (end < 0) throw new Error('unterminated XML declaration');
    i = end + 2;
  }
  while (i < source.length) {
    if (source[i] !== '<') {
      const next = source.indexOf('<', i);
      const text = source.slice(i, next < 0 ? source.length : next);
      if (stack.length === 0) {
        if (text.trim()) throw new Error(`text outside the root element at offset ${i}`);
      } else {
        stack.at(-1)!.text += decode(text, i);
      }
      i = next < 0 ? source.length : next;
      continue;
    }
    if (source.startsWith('<!--', i)) {
      const end = source.indexOf('-->', i);
      if (end < 0) throw new Error(`unterminated comment at offset ${i}`);
      i = end + 3;
      continue;
    }
    if (source.startsWith('</', i)) {
      i += 2;
      const name = NAME.exec(source.slice(i))?.[0];
      if (!name) throw new Error(`bad closing tag at offset ${i}`);
      i += name.length;
      skipSpace();
      if (source[i] !== '>') throw new Error(`bad closing tag </${name} at offset ${i}`);
      i++;
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`</${name}> closes <${open?.name ?? 'nothing'}> at offset ${i}`);
      const element: XmlElement = open;
      if (stack.length === 0) {
        if (root) throw new Error('more than one root element');
        root = element;
      } else {
        stack.at(-1)!.children.push(element);
      }
      continue;
    }
    i++;
    const name = NAME.exec(source.slice(i))?.[0];
    if (!name) throw new Error(`bad tag at offset ${i}`);
    i += name.length;
    const attributes: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (source.startsWith('/>', i) || source[i] === '>') break;
      const attr = NAME.exec(source.slice(i))?.[0];
      if (!attr) throw new Error(`bad attribute in <${name}> at offset ${i}`);
      i += attr.length;
      skipSpace();
      if (source[i] !== '=') throw new Error(`attribute ${attr} of <${name}> has no value at offset ${i}`);
      i++;
      skipSpace();
      const quote = source[i];
      if (quote !== '"' && quote !== "'") throw new Error(`attribute ${attr} of <${name}> is not quoted at offset ${i}`);
      const end = source.indexOf(quote, i + 1);
      if (end < 0) throw new Error(`unterminated attribute ${attr} at offset ${i}`);
      const value = source.slice(i + 1, end);
      if (value.includes('<')) throw new Error(`'<' in attribute ${attr} of <${name}>`);
      if (attr in attributes) throw new Error(`duplicate attribute ${attr} in <${name}>`);
      attributes[attr] = decode(value, i);
      i = end + 1;
    }
    const selfClosing = source.startsWith('/>', i);
    i += selfClosing ? 2 : 1;
    if (stack.length === 0 && root) throw new Error('more than one root element');
    const element: Building = { name, attributes, text: '', children: [] };
    if (!selfClosing) stack.push(element);
    else if (stack.length === 0) root = element;
    else stack.at(-1)!.children.push(element);
  }
  if (stack.length > 0) throw new Error(`<${stack.at(-1)!.name}> is never closed`);
  if (!root) throw new Error('no root element');
  return root;
}

/** Every element of the tree, depth first. */
export function elements(root: XmlElement): XmlElement[] {
  return [root, ...root.children.flatMap(elements)];
}
