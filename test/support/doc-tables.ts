import { readFileSync } from "node:fs";

/**
 * The rows of the Markdown table under `heading` in a doc, as cells (backticks and surrounding
 * spaces removed), header and separator left out. Tests read their lists from the docs this way,
 * so that what the doc says and what the test checks are one list.
 */
export function markdownTableRows(docPath: string, heading: string): string[][] {
  const text = readFileSync(new URL(`../../${docPath}`, import.meta.url), "utf8");
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${docPath} has no heading "${heading}"`);
  const lines = text.slice(start + heading.length + 2).split("\n");
  const first = lines.findIndex((line) => line.startsWith("|"));
  if (first < 0) throw new Error(`${docPath}: no table under "${heading}"`);
  const table: string[] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith("|")) break;
    table.push(line);
  }
  return table.slice(2).map((line) =>
    line
      .slice(1, line.lastIndexOf("|"))
      .split("|")
      .map((cell) => cell.trim().replaceAll("`", "")),
  );
}
