/*
 * A small, safe Markdown-to-HTML renderer for the playground: headings, paragraphs, lists,
 * pipe tables, code, quotes, emphasis and links. Every piece of text is HTML-escaped before any
 * tag is added, and links keep only http(s), relative and fragment targets, so a converted
 * document can never inject markup or script into the page. Images are shown as their alt text:
 * the playground never fetches anything a document names.
 */
(function (global) {
  "use strict";

  var FENCE = /^\s*(```+|~~~+)\s*([\w+-]*)/;
  var HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
  var RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
  var LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
  var QUOTE = /^\s{0,3}>\s?(.*)$/;
  var TABLE_SEPARATOR = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;
  var SAFE_URL = /^(https?:\/\/|\/(?!\/)|#)/i;

  function escapeHtml(text) {
    return text
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  /* Emphasis, links and images in text that is already escaped and holds no code span. */
  function formatEscaped(text) {
    return text
      .replace(/!\[([^\]]*)\]\((?:[^()\s]|\([^()\s]*\))*[^)]*\)/g, function (_, alt) {
        return '<span class="md-image">[image' + (alt ? ": " + alt : "") + "]</span>";
      })
      .replace(/\[([^\]]+)\]\(((?:[^()\s]|\([^()\s]*\))+)[^)]*\)/g, function (whole, label, url) {
        var target = url.replace(/&amp;/g, "&");
        if (!SAFE_URL.test(target)) return label;
        return '<a href="' + url + '" rel="noopener noreferrer nofollow">' + label + "</a>";
      })
      .replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, "<strong>$2</strong>")
      .replace(/(^|[^*\w])\*(?=\S)([^*]*?\S)\*(?!\*)/g, "$1<em>$2</em>")
      .replace(/(^|[^\w])_(?=\S)([^_]*?\S)_(?!\w)/g, "$1<em>$2</em>");
  }

  function inline(text) {
    var parts = text.split(/(`+)([\s\S]*?[^`])\1(?!`)/);
    var html = "";
    for (var i = 0; i < parts.length; i += 3) {
      html += formatEscaped(escapeHtml(parts[i]));
      if (i + 2 < parts.length) html += "<code>" + escapeHtml(parts[i + 2].trim()) + "</code>";
    }
    return html;
  }

  function splitRow(line) {
    var cells = [];
    var cell = "";
    var body = line.trim().replace(/^\|/, "");
    for (var i = 0; i < body.length; i++) {
      var ch = body[i];
      if (ch === "\\" && body[i + 1] === "|") {
        cell += "|";
        i++;
      } else if (ch === "|") {
        cells.push(cell.trim());
        cell = "";
      } else {
        cell += ch;
      }
    }
    if (cell.trim() !== "" || !/\|\s*$/.test(line)) cells.push(cell.trim());
    return cells;
  }

  function alignment(spec) {
    spec = spec.trim();
    if (spec[0] === ":" && spec[spec.length - 1] === ":") return "center";
    if (spec[spec.length - 1] === ":") return "right";
    if (spec[0] === ":") return "left";
    return "";
  }

  function tableCell(tag, text, align) {
    var style = align ? ' style="text-align:' + align + '"' : "";
    return "<" + tag + style + ">" + inline(text) + "</" + tag + ">";
  }

  function isTableStart(lines, i) {
    return lines[i].indexOf("|") !== -1 && i + 1 < lines.length &&
      lines[i + 1].indexOf("-") !== -1 && TABLE_SEPARATOR.test(lines[i + 1]);
  }

  function startsBlock(lines, i) {
    var line = lines[i];
    return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) ||
      LIST_ITEM.test(line) || isTableStart(lines, i);
  }

  function indentOf(line) {
    return line.match(/^\s*/)[0].replace(/\t/g, "    ").length;
  }

  function renderList(lines, i) {
    var first = lines[i].match(LIST_ITEM);
    var baseIndent = indentOf(lines[i]);
    var ordered = /\d/.test(first[2]);
    var start = ordered ? parseInt(first[2], 10) : 1;
    var items = [];
    while (i < lines.length) {
      var line = lines[i];
      var item = line.match(LIST_ITEM);
      if (item && indentOf(line) === baseIndent && /\d/.test(item[2]) === ordered) {
        items.push([item[3]]);
        i++;
      } else if (line.trim() !== "" && indentOf(line) > baseIndent && items.length) {
        items[items.length - 1].push(line.slice(Math.min(indentOf(line), baseIndent + 2)));
        i++;
      } else if (line.trim() === "" && i + 1 < lines.length &&
        indentOf(lines[i + 1]) > baseIndent && lines[i + 1].trim() !== "") {
        i++;
      } else if (line.trim() !== "" && items.length && !startsBlock(lines, i) &&
        indentOf(line) >= baseIndent && !LIST_ITEM.test(line)) {
        items[items.length - 1].push(line.trim());
        i++;
      } else {
        break;
      }
    }
    var tag = ordered ? "ol" : "ul";
    var open = ordered && start !== 1 ? "<ol start=\"" + start + "\">" : "<" + tag + ">";
    var html = items.map(function (body) {
      var nested = body.slice(1).some(function (l) { return LIST_ITEM.test(l); });
      return "<li>" + (nested ? blocks(body.join("\n"), true) : inline(body.join(" "))) + "</li>";
    }).join("");
    return { html: open + html + "</" + tag + ">", next: i };
  }

  function renderTable(lines, i) {
    var header = splitRow(lines[i]);
    var aligns = splitRow(lines[i + 1]).map(alignment);
    var html = "<table><thead><tr>" + header.map(function (cell, c) {
      return tableCell("th", cell, aligns[c]);
    }).join("") + "</tr></thead><tbody>";
    i += 2;
    while (i < lines.length && lines[i].trim() !== "" && lines[i].indexOf("|") !== -1) {
      var cells = splitRow(lines[i]);
      html += "<tr>" + header.map(function (_, c) {
        return tableCell("td", cells[c] || "", aligns[c]);
      }).join("") + "</tr>";
      i++;
    }
    return { html: html + "</tbody></table>", next: i };
  }

  function blocks(text, tight) {
    var lines = text.replace(/\r\n?/g, "\n").split("\n");
    var html = [];
    var i = 0;
    while (i < lines.length) {
      var line = lines[i];
      var match;
      if (line.trim() === "") {
        i++;
      } else if ((match = line.match(FENCE))) {
        var fence = match[1];
        var code = [];
        i++;
        while (i < lines.length && lines[i].trim().indexOf(fence) !== 0) code.push(lines[i++]);
        i++;
        var language = match[2] ? ' class="language-' + escapeHtml(match[2]) + '"' : "";
        html.push("<pre><code" + language + ">" + escapeHtml(code.join("\n")) + "</code></pre>");
      } else if ((match = line.match(HEADING))) {
        var level = match[1].length;
        html.push("<h" + level + ">" + inline(match[2]) + "</h" + level + ">");
        i++;
      } else if (RULE.test(line)) {
        html.push("<hr>");
        i++;
      } else if (isTableStart(lines, i)) {
        var table = renderTable(lines, i);
        html.push(table.html);
        i = table.next;
      } else if (QUOTE.test(line)) {
        var quoted = [];
        while (i < lines.length && (match = lines[i].match(QUOTE))) {
          quoted.push(match[1]);
          i++;
        }
        html.push("<blockquote>" + blocks(quoted.join("\n")) + "</blockquote>");
      } else if (LIST_ITEM.test(line)) {
        var list = renderList(lines, i);
        html.push(list.html);
        i = list.next;
      } else {
        var paragraph = [];
        while (i < lines.length && lines[i].trim() !== "" &&
          (paragraph.length === 0 || !startsBlock(lines, i))) {
          paragraph.push(lines[i].trim());
          i++;
        }
        var body = inline(paragraph.join("\n")).replace(/\n/g, " ");
        html.push(tight && html.length === 0 ? body : "<p>" + body + "</p>");
      }
    }
    return html.join("\n");
  }

  global.IliosMarkdown = {
    render: function (text) { return blocks(text || ""); },
    escapeHtml: escapeHtml,
  };
})(typeof window !== "undefined" ? window : globalThis);
