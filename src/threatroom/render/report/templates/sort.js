// Sort the register by a column and filter it by text. Written for this report; no libraries.
(function () {
  var table = document.getElementById("register-table");
  if (!table) return;
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  function key(row, i, type) {
    var cell = row.cells[i];
    if (type === "num" || type === "sev") return parseFloat(cell.getAttribute("data-v")) || 0;
    return cell.textContent.trim().toLowerCase();
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    var type = th.getAttribute("data-type");
    if (!type) return;
    th.setAttribute("tabindex", "0");
    th.setAttribute("aria-sort", "none");
    var dir = -1;
    function sort() {
      dir = -dir;
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, i, type), y = key(b, i, type);
        return (x < y ? -1 : x > y ? 1 : 0) * dir;
      });
      rows.forEach(function (r) { body.appendChild(r); });
      Array.prototype.forEach.call(heads, function (h) { h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
  });
  var filter = document.getElementById("filter");
  if (filter) filter.addEventListener("input", function () {
    var q = filter.value.trim().toLowerCase();
    Array.prototype.forEach.call(body.rows, function (r) {
      r.style.display = !q || r.textContent.toLowerCase().indexOf(q) !== -1 ? "" : "none";
    });
  });
})();
