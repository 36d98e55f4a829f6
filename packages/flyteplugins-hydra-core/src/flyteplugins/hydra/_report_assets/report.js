// Sorting, filtering, paging and chart tooltips for the sweep report. Everything it needs is already in the page.
// Every row is in the HTML (so the table reads with scripts off); with scripts on, only one page of rows
// stays in the document, which keeps a 10,000-job table quick to lay out, sort and filter.
(() => {
  "use strict";
  const root = document.getElementById("fh-report");
  const table = document.getElementById("jobs");
  const tbody = table ? table.tBodies[0] : null;
  const rows = tbody ? Array.from(tbody.rows) : [];
  const pageSize = table ? Number(table.dataset.page) : 0;
  const byJob = new Map(rows.map((row, i) => [row.dataset.j, i]));
  const headers = table ? Array.from(table.tHead.rows[0].cells) : [];
  const names = headers.map((h) => h.textContent);
  const collator = new Intl.Collator(undefined, { numeric: true });
  let order = rows.map((_, i) => i); // row indexes in the current sort order
  let matches = order; // the ones the filters keep, in that order
  let first = 0; // index into `matches` of the first row shown

  const pager = document.getElementById("pager");
  const shown = document.getElementById("shown");
  const render = () => {
    const last = Math.min(first + pageSize, matches.length);
    if (tbody) tbody.replaceChildren(...matches.slice(first, last).map((i) => rows[i]));
    const range = matches.length > pageSize ? `; rows ${first + 1}\u2013${last} shown` : "";
    if (shown) shown.textContent = `${matches.length} of ${rows.length} jobs match${range}`;
    if (pager) {
      pager.hidden = matches.length <= pageSize;
      pager.querySelector("[data-step='-1']").disabled = first === 0;
      pager.querySelector("[data-step='1']").disabled = last >= matches.length;
    }
  };
  if (pager) {
    pager.addEventListener("click", (event) => {
      const step = Number(event.target.dataset.step || 0);
      if (!step) return;
      first = Math.max(0, Math.min(first + step * pageSize, matches.length - 1));
      first -= first % pageSize;
      render();
    });
  }

  const keys = new Map(); // column index -> sort key per row, worked out on first use
  const sortKeys = (index, numeric) => {
    if (!keys.has(index)) {
      keys.set(
        index,
        rows.map((row) => {
          const cell = row.cells[index];
          if (!numeric) return cell.textContent;
          const v = cell.dataset.v;
          return v === undefined || v === "" ? null : Number(v);
        }),
      );
    }
    return keys.get(index);
  };
  const sortBy = (th) => {
    const index = headers.indexOf(th);
    const numeric = th.dataset.type === "num";
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    headers.forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const key = sortKeys(index, numeric);
    const sign = ascending ? 1 : -1;
    order = rows.map((_, i) => i);
    order.sort((a, b) => {
      if (key[a] === key[b]) return a - b;
      if (key[a] === null) return 1; // jobs without a value go last either way
      if (key[b] === null) return -1;
      const cmp = numeric ? key[a] - key[b] : collator.compare(key[a], key[b]);
      return sign * cmp || a - b;
    });
    applyFilter();
  };
  headers.forEach((th) => {
    th.addEventListener("click", () => sortBy(th));
    th.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      event.preventDefault();
      sortBy(th);
    });
  });

  const search = document.getElementById("filter");
  const phase = document.getElementById("phase-filter");
  // Each row is searchable as "column=value" pairs, so "model=vit" finds what it says and "vit" still matches.
  let texts = null;
  const applyFilter = () => {
    const words = search ? search.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
    const wanted = phase ? phase.value : "";
    if (words.length && texts === null) {
      texts = rows.map((row) =>
        Array.from(row.cells, (cell, i) => `${names[i]}=${cell.textContent}`)
          .join(" ")
          .toLowerCase(),
      );
    }
    matches = order.filter(
      (i) => (!wanted || rows[i].dataset.phase === wanted) && words.every((w) => texts[i].includes(w)),
    );
    first = 0;
    render();
  };
  if (search && phase) {
    search.addEventListener("input", applyFilter);
    phase.addEventListener("change", applyFilter);
  }

  const tip = document.createElement("div");
  tip.className = "tip";
  tip.hidden = true;
  root.appendChild(tip);
  const jobOf = (event) => (event.target.dataset ? byJob.get(event.target.dataset.j) : undefined);
  const describe = (row) =>
    headers
      .map((h, i) => [h.textContent, row.cells[i].textContent])
      .filter(([name, text]) => text && name !== "run")
      .map(([name, text]) => `${name}: ${text}`)
      .join("  \u00b7  ");
  const reveal = (i) => {
    if (!matches.includes(i)) {
      if (search) search.value = "";
      if (phase) phase.value = "";
      applyFilter();
    }
    first = matches.indexOf(i) - (matches.indexOf(i) % pageSize);
    render();
    rows.forEach((r) => r.classList.remove("hl"));
    rows[i].classList.add("hl");
    rows[i].scrollIntoView({ block: "center" });
  };
  root.querySelectorAll("svg.chart").forEach((svg) => {
    svg.addEventListener("mouseover", (event) => {
      const i = jobOf(event);
      if (i === undefined) return;
      tip.textContent = describe(rows[i]);
      tip.hidden = false;
    });
    svg.addEventListener("mousemove", (event) => {
      tip.style.left = `${event.clientX + 12}px`;
      tip.style.top = `${event.clientY + 12}px`;
    });
    svg.addEventListener("mouseout", () => {
      tip.hidden = true;
    });
    svg.addEventListener("click", (event) => {
      const i = jobOf(event);
      if (i !== undefined) reveal(i);
    });
  });
  render();
  root.dataset.ready = "1";
})();
