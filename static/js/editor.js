/*
 * The deeds and story editor: a toolbar and a live preview over a plain textarea, and a
 * paste from Word or WPS that keeps paragraphs, headings, bold and lists.
 *
 * The textarea stays the field that is sent, and what it holds stays Markdown: the
 * server renders and sanitises it (portal/markdown.py) as it always has. Without
 * scripts the textarea works as before. The preview is the server's own rendering
 * (POST data-preview-url with the form's CSRF token), so it shows exactly what the
 * saved page will show. Served from /static: the CSP allows no inline script or style.
 *
 * Pasting: Word and WPS put HTML on the clipboard, full of class="MsoNormal", mso-
 * styles, <o:p> and list paragraphs whose bullet is a span (mso-list:Ignore) rather than
 * <ul>/<li>. htmlToMarkdown() reads that HTML through DOMParser (which runs nothing) and
 * writes the Markdown of the subset the portal keeps: paragraphs, h1–h4, bold, italic,
 * lists (nested), quotes, line breaks, links and simple tables; styles are dropped.
 */
(function () {
  "use strict";

  var CJK = "\\u2e80-\\u9fff\\uf900-\\ufaff\\uff00-\\uffef\\u3000-\\u303f";
  var CJK_NEWLINE = new RegExp("([" + CJK + "])[ \\t\\r\\n]*\\n[ \\t\\r\\n]*(?=[" + CJK + "])", "g");
  var EDGE_PUNCT;
  try {
    // Emphasis next to punctuation (“”：，) does not close in CommonMark unless the
    // punctuation sits outside the markers: **调解经过：**张某 must be **调解经过**：张某.
    EDGE_PUNCT = new RegExp("^([\\s\\p{P}\\p{S}]*)([\\s\\S]*?)([\\s\\p{P}\\p{S}]*)$", "u");
  } catch (e) {
    EDGE_PUNCT = /^([\s!-\/:-@\[-`{-~\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]*)([\s\S]*?)([\s!-\/:-@\[-`{-~\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]*)$/;
  }
  var SKIPPED = { HEAD: 1, STYLE: 1, SCRIPT: 1, META: 1, LINK: 1, TITLE: 1, XML: 1, IMG: 1,
    svg: 1, SVG: 1, OBJECT: 1, IFRAME: 1, TEMPLATE: 1, NOSCRIPT: 1, "O:P": 0 };
  var BLOCKS = { P: 1, DIV: 1, H1: 1, H2: 1, H3: 1, H4: 1, H5: 1, H6: 1, UL: 1, OL: 1,
    LI: 1, BLOCKQUOTE: 1, TABLE: 1, PRE: 1, HR: 1, SECTION: 1, ARTICLE: 1, HEADER: 1,
    FOOTER: 1, ADDRESS: 1, CENTER: 1, DL: 1, DT: 1, DD: 1, FIGURE: 1 };

  function styleOf(el) {
    return (el.getAttribute && (el.getAttribute("style") || "")).toLowerCase();
  }

  function isBold(el) {
    var tag = el.tagName;
    var weight = /font-weight\s*:\s*([a-z0-9]+)/.exec(styleOf(el));
    if (weight) {
      // Google Docs wraps everything in <b style="font-weight:normal">.
      return weight[1] === "bold" || weight[1] === "bolder" || parseInt(weight[1], 10) >= 600;
    }
    return tag === "B" || tag === "STRONG";
  }

  function isItalic(el) {
    var style = /font-style\s*:\s*([a-z]+)/.exec(styleOf(el));
    if (style) {
      return style[1] === "italic" || style[1] === "oblique";
    }
    return el.tagName === "I" || el.tagName === "EM";
  }

  // Text as HTML shows it: runs of white space are one space, a line break between two
  // Chinese characters is nothing (Word wraps its HTML source mid-sentence).
  function flatText(value) {
    return value.replace(/\u00a0/g, " ").replace(CJK_NEWLINE, "$1").replace(/[ \t\r\n\f]+/g, " ");
  }

  function escapeInline(value) {
    return value.replace(/([\\`*_\[\]])/g, "\\$1");
  }

  // What would start a block if it began a line: a heading, quote, list or rule.
  function escapeLineStart(line) {
    return line
      .replace(/^(\s*)([#>+=-])/, "$1\\$2")
      .replace(/^(\s*\d+)([.)])(\s|$)/, "$1\\$2$3");
  }

  function wrap(inner, marker) {
    var parts = EDGE_PUNCT.exec(inner);
    if (!parts || !parts[2].replace(/\s+/g, "")) {
      return inner;
    }
    return parts[1] + marker + parts[2] + marker + parts[3];
  }

  function safeHref(href) {
    return /^(https?:|mailto:)/i.test(href || "") ? href.replace(/([()\s])/g, encodeURIComponent) : "";
  }

  // --- Word's list paragraphs -------------------------------------------------------

  // <p style="mso-list:l0 level2 lfo1"><span style="mso-list:Ignore">1.</span>text</p>
  function msoListLevel(el) {
    if (el.nodeType !== 1 || el.tagName !== "P") {
      return 0;
    }
    var match = /mso-list\s*:\s*l\d+\s+level(\d+)/.exec(styleOf(el));
    return match ? parseInt(match[1], 10) : 0;
  }

  // Which of the document's lists a list paragraph belongs to (l0, l1 …).
  function msoListId(el) {
    var match = /mso-list\s*:\s*(l\d+)/.exec(styleOf(el));
    return match ? match[1] : "";
  }

  function takeMarker(p) {
    var ignored = p.querySelectorAll("[style]");
    var marker = "";
    for (var i = 0; i < ignored.length; i++) {
      if (/mso-list\s*:\s*ignore/.test(styleOf(ignored[i]))) {
        marker += ignored[i].textContent;
        ignored[i].parentNode.removeChild(ignored[i]);
      }
    }
    return marker.replace(/\u00a0/g, " ").trim();
  }

  function ordered(marker) {
    return /^[(（]?([0-9]+|[a-zA-Z]|[ivxlcIVXLC]+|[一二三四五六七八九十百]+)[.)）、．]?$/.test(marker) &&
      !/^[o§·•▪■□◆◇●○✓✔\-–—]$/.test(marker);
  }

  // Turn each run of Word list paragraphs into real (nested) <ul>/<ol> elements.
  function rebuildWordLists(root) {
    var paragraphs = root.querySelectorAll("p");
    var doc = root.ownerDocument;
    for (var i = 0; i < paragraphs.length; i++) {
      var first = paragraphs[i];
      if (!first.parentNode || !msoListLevel(first)) {
        continue;
      }
      var stack = [];
      var node = first;
      var anchor = doc.createElement("div");
      first.parentNode.insertBefore(anchor, first);
      while (node) {
        var next = node.nextSibling;
        if (node.nodeType === 3 && !node.textContent.trim()) {
          node.parentNode.removeChild(node);
          node = next;
          continue;
        }
        var level = msoListLevel(node);
        if (!level || msoListId(node) !== msoListId(first)) {
          break;  // the next list (if any) is a run of its own
        }
        var marker = takeMarker(node);
        while (stack.length > level) {
          stack.pop();
        }
        while (stack.length < level) {
          var list = doc.createElement(ordered(marker) ? "ol" : "ul");
          var parentItem = stack.length ? stack[stack.length - 1].lastElementChild : null;
          if (stack.length && !parentItem) {
            parentItem = doc.createElement("li");
            stack[stack.length - 1].appendChild(parentItem);
          }
          (parentItem || anchor).appendChild(list);
          stack.push(list);
        }
        var item = doc.createElement("li");
        while (node.firstChild) {
          item.appendChild(node.firstChild);
        }
        stack[stack.length - 1].appendChild(item);
        node.parentNode.removeChild(node);
        node = next;
      }
    }
  }

  // --- HTML to Markdown ---------------------------------------------------------------

  function inline(node) {
    var out = "";
    for (var child = node.firstChild; child; child = child.nextSibling) {
      out += inlineOf(child);
    }
    return out;
  }

  function inlineOf(node) {
    if (node.nodeType === 3) {
      return escapeInline(flatText(node.nodeValue));
    }
    if (node.nodeType !== 1) {
      return "";
    }
    var tag = node.tagName.toUpperCase();
    if (SKIPPED[tag]) {
      return "";
    }
    if (tag === "BR") {
      return "\n";
    }
    var inner = inline(node);
    if (tag === "A") {
      var href = safeHref(node.getAttribute("href"));
      var label = inner.trim();
      return href && label ? "[" + label + "](" + href + ")" : inner;
    }
    if (tag === "SUP" || tag === "SUB") {
      return inner;
    }
    if (isBold(node)) {
      inner = wrap(inner, "**");
    }
    if (isItalic(node)) {
      inner = wrap(inner, "*");
    }
    return inner;
  }

  // A bold run that was split by Word (<b>调解</b><b>经过</b>) is one: ****** joins.
  function tidyInline(text) {
    return text
      .replace(/\*\*\*\*/g, "")
      .split("\n")
      .map(function (line) { return line.replace(/^[ \t]+|[ \t]+$/g, ""); })
      .join("\n")
      .replace(/^\n+|\n+$/g, "");
  }

  function paragraph(text) {
    var cleaned = tidyInline(text);
    if (!cleaned.replace(/[\s*]/g, "")) {
      return "";
    }
    return cleaned.split("\n").map(escapeLineStart).join("\n");
  }

  function headingLevel(el) {
    var tag = el.tagName.toUpperCase();
    if (/^H[1-6]$/.test(tag)) {
      return Math.min(parseInt(tag.charAt(1), 10), 3);
    }
    var cls = (el.getAttribute("class") || "").toLowerCase();
    if (cls === "msotitle") {
      return 1;
    }
    var word = /^msoheading(\d)$/.exec(cls);
    return word ? Math.min(parseInt(word[1], 10), 3) : 0;
  }

  function indent(text, prefix) {
    return text.split("\n").map(function (line, i) {
      return (i === 0 ? "" : line ? prefix : "") + line;
    }).join("\n");
  }

  function listOf(el) {
    var isOrdered = el.tagName.toUpperCase() === "OL";
    var number = parseInt(el.getAttribute("start") || "1", 10) || 1;
    var items = [];
    for (var child = el.firstChild; child; child = child.nextSibling) {
      if (child.nodeType !== 1) {
        continue;
      }
      var tag = child.tagName.toUpperCase();
      if (tag === "UL" || tag === "OL") {
        // A list directly inside a list (some editors write it so): nest it under the
        // item before it.
        var nested = listOf(child);
        if (nested && items.length) {
          items[items.length - 1] += "\n" + indent(nested, isOrdered ? "   " : "  ").replace(/^/, isOrdered ? "   " : "  ");
        } else if (nested) {
          items.push(nested);
        }
        continue;
      }
      var marker = isOrdered ? number++ + ". " : "- ";
      // One item's paragraphs and sublists line by line: a blank line would make the
      // whole list loose (every item a paragraph of its own).
      var body = blocks(child).join("\n") || "";
      items.push(marker + indent(body, new Array(marker.length + 1).join(" ")));
    }
    return items.join("\n");
  }

  function tableOf(el) {
    var rows = el.querySelectorAll("tr");
    var lines = [];
    var width = 0;
    for (var r = 0; r < rows.length; r++) {
      var cells = [];
      for (var c = rows[r].firstChild; c; c = c.nextSibling) {
        if (c.nodeType === 1 && /^T[DH]$/.test(c.tagName.toUpperCase())) {
          cells.push(tidyInline(inline(c)).replace(/\n/g, " ").replace(/\|/g, "\\|") || " ");
        }
      }
      if (cells.length) {
        width = Math.max(width, cells.length);
        lines.push(cells);
      }
    }
    if (!lines.length) {
      return "";
    }
    var out = lines.map(function (cells) {
      while (cells.length < width) {
        cells.push(" ");
      }
      return "| " + cells.join(" | ") + " |";
    });
    var rule = [];
    for (var i = 0; i < width; i++) {
      rule.push("---");
    }
    out.splice(1, 0, "| " + rule.join(" | ") + " |");
    return out.join("\n");
  }

  // The Markdown blocks of a container: its block children, and its loose inline
  // content gathered into paragraphs.
  function blocks(container) {
    var out = [];
    var pending = "";

    function flush() {
      var text = paragraph(pending);
      if (text) {
        out.push(text);
      }
      pending = "";
    }

    for (var node = container.firstChild; node; node = node.nextSibling) {
      if (node.nodeType !== 1) {
        pending += inlineOf(node);
        continue;
      }
      var tag = node.tagName.toUpperCase();
      if (SKIPPED[tag]) {
        continue;
      }
      var level = headingLevel(node);
      if (!BLOCKS[tag] && !level) {
        pending += inlineOf(node);
        continue;
      }
      flush();
      if (level) {
        var title = tidyInline(inline(node)).replace(/\n+/g, " ").replace(/\*\*/g, "");
        if (title.trim()) {
          out.push(new Array(level + 1).join("#") + " " + title.trim());
        }
      } else if (tag === "UL" || tag === "OL") {
        var list = listOf(node);
        if (list) {
          out.push(list);
        }
      } else if (tag === "BLOCKQUOTE") {
        var quoted = blocks(node).join("\n\n");
        if (quoted) {
          out.push(quoted.split("\n").map(function (line) {
            return line ? "> " + line : ">";
          }).join("\n"));
        }
      } else if (tag === "TABLE") {
        var table = tableOf(node);
        if (table) {
          out.push(table);
        }
      } else if (tag === "HR") {
        out.push("---");
      } else if (tag === "PRE") {
        var code = paragraph(escapeInline(node.textContent));
        if (code) {
          out.push(code);
        }
      } else if (tag === "P" && isBold(node)) {
        // A paragraph styled bold as a whole (WPS writes <p style="font-weight:bold">).
        var strong = paragraph(wrap(inline(node), "**"));
        if (strong) {
          out.push(strong);
        }
      } else {
        out.push.apply(out, blocks(node));
      }
    }
    flush();
    return out;
  }

  function htmlToMarkdown(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var body = doc.body;
    rebuildWordLists(body);
    return blocks(body).join("\n\n");
  }

  window.portalHtmlToMarkdown = htmlToMarkdown;

  // --- the editor ---------------------------------------------------------------------

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  // Replace the selection with text, keeping the browser's undo (Ctrl+Z) where it can.
  function insert(area, text) {
    area.focus();
    var done = false;
    try {
      done = document.execCommand("insertText", false, text);
    } catch (e) {
      done = false;
    }
    if (!done || area.value.indexOf(text) === -1) {
      var start = area.selectionStart;
      area.setRangeText(text, start, area.selectionEnd, "end");
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }

  function wrapSelection(area, marker, placeholder) {
    var start = area.selectionStart;
    var end = area.selectionEnd;
    var chosen = area.value.slice(start, end) || placeholder;
    insert(area, marker + chosen + marker);
    area.setSelectionRange(start + marker.length, start + marker.length + chosen.length);
  }

  // Put (or take away) a prefix at the start of every line of the selection.
  function prefixLines(area, prefixFor, pattern) {
    var value = area.value;
    var start = value.lastIndexOf("\n", area.selectionStart - 1) + 1;
    var endBreak = value.indexOf("\n", area.selectionEnd);
    var end = endBreak === -1 ? value.length : endBreak;
    var lines = value.slice(start, end).split("\n");
    var all = lines.every(function (line) { return pattern.test(line); });
    var changed = lines.map(function (line, i) {
      return all ? line.replace(pattern, "") : prefixFor(i) + line.replace(pattern, "");
    }).join("\n");
    area.setSelectionRange(start, end);
    insert(area, changed);
    area.setSelectionRange(start, start + changed.length);
  }

  var ACTIONS = [
    { label: "标题", title: "小标题（行首加 ##）", run: function (a) {
      prefixLines(a, function () { return "## "; }, /^#{1,6}\s+/);
    } },
    { label: "加粗", title: "加粗（Ctrl+B）", run: function (a) { wrapSelection(a, "**", "加粗文字"); } },
    { label: "列表", title: "无序列表（行首加 - ）", run: function (a) {
      prefixLines(a, function () { return "- "; }, /^[-*+]\s+/);
    } },
    { label: "编号", title: "编号列表（行首加 1. ）", run: function (a) {
      prefixLines(a, function (i) { return i + 1 + ". "; }, /^\d+[.)]\s+/);
    } },
    { label: "引用", title: "引用（行首加 > ）", run: function (a) {
      prefixLines(a, function () { return "> "; }, /^>\s?/);
    } }
  ];

  function csrfToken(form) {
    var input = form && form.querySelector("input[name=_csrf_token]");
    return input ? input.value : "";
  }

  function enhance(area) {
    var url = area.getAttribute("data-preview-url");
    var form = area.form;
    var box = document.createElement("div");
    box.className = "md-editor";
    area.parentNode.insertBefore(box, area);

    var bar = document.createElement("div");
    bar.className = "md-toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "排版工具");
    bar.setAttribute("aria-controls", area.id);
    ACTIONS.forEach(function (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "md-tool";
      button.textContent = action.label;
      button.title = action.title;
      button.addEventListener("click", function () { action.run(area); });
      bar.appendChild(button);
    });
    var hint = document.createElement("span");
    hint.className = "md-hint";
    hint.textContent = "可直接从 Word、WPS 粘贴，段落、标题、加粗和列表会保留";
    bar.appendChild(hint);

    var panes = document.createElement("div");
    panes.className = "md-panes";
    var preview = document.createElement("div");
    preview.className = ("md-preview prose " + (area.getAttribute("data-preview-class") || "")).trim();
    preview.id = area.id + "-preview";
    preview.setAttribute("role", "region");
    preview.setAttribute("aria-label", "预览：保存后显示的样子");
    var caption = document.createElement("p");
    caption.className = "md-preview-caption";
    caption.setAttribute("aria-hidden", "true");
    caption.textContent = "预览";
    var content = document.createElement("div");
    content.className = "md-preview-body";
    preview.appendChild(caption);
    preview.appendChild(content);

    box.appendChild(bar);
    box.appendChild(panes);
    panes.appendChild(area);
    panes.appendChild(preview);

    var timer = null;
    var sent = 0;
    function refresh() {
      if (!url || !window.fetch) {
        return;
      }
      var mine = ++sent;
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
          "x-csrftoken": csrfToken(form)
        },
        body: "text=" + encodeURIComponent(area.value)
      }).then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      }).then(function (html) {
        if (mine !== sent) {
          return;  // an older answer arriving late
        }
        box.classList.remove("md-offline");
        // The server's sanitised rendering (nh3 allowlist), as the saved page shows it,
        // parsed as an inert document (no scripts run, no inline handlers) and moved in.
        if (html) {
          var parsed = new DOMParser().parseFromString(html, "text/html");
          content.replaceChildren.apply(content, Array.from(parsed.body.childNodes));
        } else {
          var empty = document.createElement("p");
          empty.className = "muted";
          empty.textContent = "（尚未填写）";
          content.replaceChildren(empty);
        }
      }).catch(function () {
        if (mine === sent) {
          box.classList.add("md-offline");
          content.textContent = "预览暂时不可用；内容不受影响，可照常保存。";
        }
      });
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    }
    area.addEventListener("input", later);
    area.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === "b" || event.key === "B")) {
        event.preventDefault();
        wrapSelection(area, "**", "加粗文字");
      }
    });
    area.addEventListener("paste", function (event) {
      var data = event.clipboardData;
      var html = data && data.getData ? data.getData("text/html") : "";
      if (!html || !window.DOMParser) {
        return;  // plain text: the browser pastes it as it is
      }
      var markdown = htmlToMarkdown(html);
      if (!markdown) {
        return;
      }
      event.preventDefault();
      insert(area, markdown);
      later();
    });
    refresh();
  }

  ready(function () {
    var areas = document.querySelectorAll("textarea[data-editor=markdown]");
    for (var i = 0; i < areas.length; i++) {
      enhance(areas[i]);
    }
  });
})();
