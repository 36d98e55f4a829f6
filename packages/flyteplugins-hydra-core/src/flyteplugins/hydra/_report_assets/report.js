// Sorting, filtering and chart tooltips for the sweep report. Everything it needs is already in the page.
(() => {
  "use strict";
  const table = document.getElementById("jobs");
  const rows = table ? Array.from(table.tBodies[0].rows) : [];
  const byJob = new Map(rows.map((row) => [row.dataset.j, row]));
  const headers = table ? Array.from(table.tHead.rows[0].cells) : [];

  const cellValue = (row, index, numeric) => {
    const cell = row.cells[index];
    if (!numeric) return cell.textContent;
    const v = cell.dataset.v;
    return v === undefined || v === "" ? null : Number(v);
  };

  const sortBy = (th) => {
    const index = headers.indexOf(th);
    const numeric = th.dataset.type === "num";
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    headers.forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const keyed = rows.map((row, i) => [cellValue(row, index, numeric), i, row]);
    const sign = ascending ? 1 : -1;
    keyed.sort((a, b) => {
      if (a[0] === b[0]) return a[1] - b[1];
      if (a[0] === null) return 1; // jobs without a value go last either way
      if (b[0] === null) return -1;
      const order = numeric ? a[0] - b[0] : a[0].localeCompare(b[0], undefined, { numeric: true });
      return sign * order || a[1] - b[1];
    });
    const fragment = document.createDocumentFragment();
    keyed.forEach((k) => fragment.appendChild(k[2]));
    table.tBodies[0].appendChild(fragment);
  };
  headers.forEach((th) => th.addEventListener("click", () => sortBy(th)));

  const search = document.getElementById("filter");
  const phase = document.getElementById("phase-filter");
  const shown = document.getElementById("shown");
  // Each row is searchable as "column=value" pairs, so "model=vit" finds what it says and "vit" still matches.
  const names = headers.map((h) => h.textContent);
  const texts = rows.map((row) =>
    Array.from(row.cells, (cell, i) => `${names[i]}=${cell.textContent}`).join(" ").toLowerCase(),
  );
  const applyFilter = () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const wanted = phase.value;
    let count = 0;
    rows.forEach((row, i) => {
      const keep = (!wanted || row.dataset.phase === wanted) && words.every((w) => texts[i].includes(w));
      row.hidden = !keep;
      count += keep;
    });
    shown.textContent = `${count} of ${rows.length} jobs shown`;
  };
  if (search && phase) {
    search.addEventListener("input", applyFilter);
    phase.addEventListener("change", applyFilter);
  }

  const tip = document.createElement("div");
  tip.className = "tip";
  tip.hidden = true;
  document.body.appendChild(tip);
  const describe = (row) =>
    headers
      .map((h, i) => [h.textContent, row.cells[i].textContent])
      .filter(([name, text]) => text && name !== "run")
      .map(([name, text]) => `${name}: ${text}`)
      .join("  \u00b7  ");
  document.querySelectorAll("svg.chart").forEach((svg) => {
    svg.addEventListener("mouseover", (event) => {
      const row = byJob.get(event.target.dataset && event.target.dataset.j);
      if (!row) return;
      tip.textContent = describe(row);
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
      const row = byJob.get(event.target.dataset && event.target.dataset.j);
      if (!row) return;
      rows.forEach((r) => r.classList.remove("hl"));
      row.hidden = false;
      row.classList.add("hl");
      row.scrollIntoView({ block: "center" });
    });
  });
  document.documentElement.dataset.ready = "1";
})();
