/* "Explore the dynamics": four linked plots of one gradient-descent run and the final error
 * against α, drawn as SVG from the data file that book/_ext/explore_data.py writes at build
 * time. No library and no request beyond that file. window.explore.current() returns what
 * is plotted (the tests compare it with the file). */
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const SUP = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
  const W = 360, H = 230, PAD = { left: 54, right: 16, top: 10, bottom: 38 };
  const CONTROLS = [
    ["alpha", "Initialization scale α"],
    ["k", "Width k"],
    ["m", "Measurements m"],
    ["seed", "Seed"],
  ];

  // ---- numbers -------------------------------------------------------------------------
  function sup(text) {
    return String(text).split("").map((c) => SUP[c] || c).join("");
  }
  function pow10(e) {
    return e === 0 ? "1" : "10" + sup(e);
  }
  function sci(x, digits) {
    if (x === null || x === undefined || !isFinite(x)) return String(x);
    if (x === 0) return "0";
    const [mant, exp] = x.toExponential((digits || 2) - 1).split("e");
    const e = Number(exp);
    if (e >= -2 && e <= 1) return x.toPrecision(digits || 2);
    return mant + " × " + pow10(e);
  }
  function alphaText(a) {
    const e = Math.round(Math.log10(a));
    return Math.abs(a - Math.pow(10, e)) < 1e-12 * a ? pow10(e) : sci(a, 3);
  }

  function decode(base64) {
    const bin = atob(base64);
    const view = new DataView(new ArrayBuffer(bin.length));
    for (let i = 0; i < bin.length; i++) view.setUint8(i, bin.charCodeAt(i));
    const out = new Float64Array(bin.length / 8);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
    return out;
  }

  // ---- svg helpers ---------------------------------------------------------------------
  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, content, attrs) {
    const node = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    node.textContent = content;
    return node;
  }
  function logScale(lo, hi, a, b) {
    const l0 = Math.log10(lo), l1 = Math.log10(hi);
    const f = (v) => a + ((Math.log10(v) - l0) / (l1 - l0)) * (b - a);
    f.domain = [lo, hi];
    return f;
  }
  function linScale(lo, hi, a, b) {
    const f = (v) => a + ((v - lo) / (hi - lo)) * (b - a);
    f.domain = [lo, hi];
    return f;
  }
  function decades(lo, hi) {
    return [Math.floor(Math.log10(lo)), Math.ceil(Math.log10(hi))];
  }

  /* An empty plot with a logarithmic y axis: frame, grid, ticks and axis labels; returns
   * the scales and the layer to draw in. */
  function axes(svg, spec) {
    svg.textContent = "";
    const x0 = PAD.left, x1 = W - PAD.right, y0 = H - PAD.bottom, y1 = PAD.top;
    const x = spec.xlog ? logScale(spec.x[0], spec.x[1], x0, x1) : linScale(spec.x[0], spec.x[1], x0, x1);
    const y = logScale(spec.y[0], spec.y[1], y0, y1); // every quantity here spans decades
    const grid = el("g", { class: "explore-grid" }, svg);
    const ticks = el("g", { class: "explore-ticks" }, svg);
    const [e0, e1] = decades(spec.y[0], spec.y[1]);
    const stride = Math.max(1, Math.ceil((e1 - e0) / 6)); // at most about 7 labels
    for (let e = e1; e >= e0; e -= stride) {
      const v = Math.pow(10, e);
      if (v < spec.y[0] * 0.999 || v > spec.y[1] * 1.001) continue;
      el("line", { x1: x0, x2: x1, y1: y(v), y2: y(v) }, grid);
      text(ticks, x0 - 5, y(v) + 4, pow10(e), { "text-anchor": "end" });
    }
    const xticks = spec.xlog
      ? (function () {
          const [e0, e1] = decades(spec.x[0], spec.x[1]);
          const out = [];
          for (let e = e0; e <= e1; e += 1) out.push([Math.pow(10, e), pow10(e)]);
          return out;
        })()
      : spec.xticks.map((v) => [v, String(v)]);
    for (const [v, label] of xticks) {
      if (v < spec.x[0] * 0.999 || v > spec.x[1] * 1.001) continue;
      el("line", { x1: x(v), x2: x(v), y1: y0, y2: y1 }, grid);
      text(ticks, x(v), y0 + 15, label, { "text-anchor": "middle" });
    }
    el("rect", { class: "explore-frame", x: x0, y: y1, width: x1 - x0, height: y0 - y1 }, svg);
    text(svg, (x0 + x1) / 2, H - 6, spec.xlabel, { class: "explore-label", "text-anchor": "middle" });
    const ylabel = text(svg, 0, 0, "", {
      class: "explore-label", "text-anchor": "middle",
      transform: `translate(13 ${(y0 + y1) / 2}) rotate(-90)`,
    });
    ylabel.textContent = spec.ylabel;
    const clip = "explore-clip-" + svg.id;
    const defs = el("defs", {}, svg);
    const cp = el("clipPath", { id: clip }, defs);
    el("rect", { x: x0, y: y1 - 3, width: x1 - x0, height: y0 - y1 + 6 }, cp);
    const layer = el("g", { "clip-path": `url(#${clip})` }, svg);
    return { x: x, y: y, layer: layer, box: [x0, x1, y0, y1] };
  }

  /* A path through the positive points of (xs, ys), clamped just outside the y range (the
   * clip path hides the clamped part; a blow-up still leaves the plot at the top). */
  function line(plot, xs, ys, attrs) {
    const [lo, hi] = plot.y.domain;
    let d = "", pen = false;
    for (let i = 0; i < xs.length; i++) {
      const v = ys[i];
      if (!(v > 0)) {
        pen = false;
        continue;
      }
      const yy = plot.y(Math.min(Math.max(v, lo / 2), hi * 2));
      d += (pen ? " L" : d ? " M" : "M") + plot.x(xs[i]).toFixed(2) + " " + yy.toFixed(2);
      pen = true;
    }
    return el("path", Object.assign({ d: d, fill: "none" }, attrs), plot.layer);
  }

  // ---- the widget ----------------------------------------------------------------------
  function Explorer(root, data) {
    this.root = root;
    this.data = data;
    this.values = decode(data.values);
    this.grid = data.grid;
    this.index = new Map();
    for (const run of data.runs) this.index.set([run.alpha, run.k, run.m, run.seed].join(","), run);
    const conf = data.configuration;
    const grid = this.grid;
    this.selection = {
      alpha: Math.max(0, grid.alpha.findIndex((a) => Math.abs(a - 1e-6) < 1e-18)),
      k: Math.max(0, grid.k.indexOf(conf.k)),
      m: Math.max(0, grid.m.indexOf(conf.m)),
      seed: 0,
    };
    this.domains = this.computeDomains();
    this.build();
    this.update();
  }

  Explorer.prototype.series = function (run) {
    const n = run.count, out = {};
    this.data.fields.forEach((field, f) => {
      out[field] = Array.from(this.values.subarray(run.offset + f * n, run.offset + (f + 1) * n));
    });
    return out;
  };

  Explorer.prototype.computeDomains = function () {
    const fields = this.data.fields;
    const range = {};
    for (const f of fields) range[f] = [Infinity, -Infinity];
    for (const run of this.data.runs) {
      if (run.diverged) continue;
      const n = run.count;
      const k = this.grid.k[run.k];
      fields.forEach((f, i) => {
        const sv = /^sigma_(\d+)$/.exec(f);
        if (sv && Number(sv[1]) > k) return; // rank(U V^T) <= k: σ_i = 0 for i > k
        for (let j = 0; j < n; j++) {
          const v = this.values[run.offset + i * n + j];
          if (v > 0) {
            if (v < range[f][0]) range[f][0] = v;
            if (v > range[f][1]) range[f][1] = v;
          }
        }
      });
    }
    const merge = (names) => {
      const lo = Math.min(...names.map((n) => range[n][0]));
      const hi = Math.max(...names.map((n) => range[n][1]));
      // A little room above the largest value, so that a curve never runs along the frame.
      return [Math.pow(10, Math.floor(Math.log10(lo))), Math.pow(10, Math.ceil(Math.log10(2 * hi)))];
    };
    const sigmas = fields.filter((f) => f.startsWith("sigma_"));
    const finals = this.data.runs.filter((r) => !r.diverged).map((r) => r.final_test_error);
    return {
      error: merge(["test_error", "train_loss"]),
      sigma: merge(sigmas),
      imbalance: merge(["imbalance"]),
      sine: [merge(["sin_left", "sin_right"])[0], 1],
      final: [
        Math.pow(10, Math.floor(Math.log10(Math.min(...finals)))),
        Math.pow(10, Math.ceil(Math.log10(2 * Math.max(...finals)))),
      ],
    };
  };

  Explorer.prototype.build = function () {
    const root = this.root, grid = this.grid, conf = this.data.configuration;
    root.textContent = "";
    const controls = document.createElement("fieldset");
    controls.className = "explore-controls";
    const legendEl = document.createElement("legend");
    legendEl.textContent = "Grid point";
    controls.appendChild(legendEl);
    this.inputs = {};
    this.outputs = {};
    for (const [name, label] of CONTROLS) {
      const row = document.createElement("div");
      row.className = "explore-control";
      const id = "explore-" + name;
      const lab = document.createElement("label");
      lab.htmlFor = id;
      lab.textContent = label;
      const input = document.createElement("input");
      Object.assign(input, { type: "range", id: id, min: 0, max: grid[name].length - 1, step: 1 });
      const out = document.createElement("output");
      out.htmlFor = id;
      out.id = id + "-value";
      input.addEventListener("input", () => {
        this.selection[name] = this.fromSlider(name, Number(input.value));
        this.update();
      });
      row.append(lab, input, out);
      controls.appendChild(row);
      this.inputs[name] = input;
      this.outputs[name] = out;
    }
    root.appendChild(controls);

    this.status = document.createElement("p");
    this.status.className = "explore-status";
    this.status.setAttribute("aria-live", "polite");
    root.appendChild(this.status);

    const figures = document.createElement("div");
    figures.className = "explore-figures";
    root.appendChild(figures);
    // Static markup (no data in it), so innerHTML is safe.
    const captions = {
      error: "Relative test error ‖U<sub>t</sub>V<sub>t</sub><sup>⊤</sup> − X‖<sub>F</sub> / ‖X‖<sub>F</sub> and training loss f(U<sub>t</sub>, V<sub>t</sub>) = ½‖𝒜(U<sub>t</sub>V<sub>t</sub><sup>⊤</sup>) − y‖², against the iteration t.",
      sigma: "The top singular values σ<sub>i</sub>(U<sub>t</sub>V<sub>t</sub><sup>⊤</sup>), i = 1…4, against t; dashed: σ<sub>1</sub>…σ<sub>r</sub> of the truth X. For i &gt; k, σ<sub>i</sub> = 0 (the rank of U<sub>t</sub>V<sub>t</sub><sup>⊤</sup> is at most k) and is not drawn.",
      imbalance: "The imbalance ‖U<sub>t</sub><sup>⊤</sup>U<sub>t</sub> − V<sub>t</sub><sup>⊤</sup>V<sub>t</sub>‖ (operator norm) against t.",
      sine: "Sine of the largest principal angle between the top-r left (right) singular subspace of U<sub>t</sub>V<sub>t</sub><sup>⊤</sup> and the column (row) space of X, against t.",
      final: "Final relative test error (t = T) against α for the chosen k and m: every seed (open circles), the chosen seed (filled), the chosen α (ring), and the least-squares line of the chosen seed over the α values of claim M3 (dashed).",
    };
    const keys = {
      error: [["explore-s1", "test error"], ["explore-s2", "training loss f"]],
      sigma: [["explore-s1", "σ<sub>1</sub>"], ["explore-s2", "σ<sub>2</sub>"], ["explore-s3", "σ<sub>3</sub>"], ["explore-s4", "σ<sub>4</sub>"], ["explore-truth", "σ<sub>i</sub>(X)", true]],
      imbalance: [],
      sine: [["explore-s1", "left vs column space"], ["explore-s4", "right vs row space"]],
      final: [],
    };
    this.svgs = {};
    for (const key of ["error", "sigma", "imbalance", "sine", "final"]) {
      const fig = document.createElement("figure");
      fig.className = "explore-figure explore-figure-" + key;
      const svg = el("svg", {
        id: "explore-" + key, viewBox: `0 0 ${W} ${H}`, role: "img",
        "aria-labelledby": "explore-" + key + "-caption",
      });
      const cap = document.createElement("figcaption");
      cap.id = "explore-" + key + "-caption";
      cap.innerHTML = captions[key];
      fig.append(svg);
      if (keys[key].length) {
        const list = document.createElement("ul");
        list.className = "explore-key";
        list.setAttribute("aria-hidden", "true"); // the caption says the same
        for (const [cls, label, dashed] of keys[key]) {
          const item = document.createElement("li");
          const swatch = el("svg", { width: 20, height: 8, viewBox: "0 0 20 8" });
          el("line", Object.assign({ x1: 0, x2: 20, y1: 4, y2: 4, class: cls }, dashed ? { "stroke-dasharray": "5 3" } : {}), swatch);
          const span = document.createElement("span");
          span.innerHTML = label;
          item.append(swatch, span);
          list.appendChild(item);
        }
        fig.appendChild(list);
      }
      fig.appendChild(cap);
      if (key === "final") {
        const heading = document.createElement("h2");
        heading.className = "explore-second-view";
        heading.textContent = "Final error against α";
        root.appendChild(heading);
        this.slopeText = document.createElement("p");
        this.slopeText.className = "explore-slope";
        this.slopeText.setAttribute("aria-live", "polite");
        root.appendChild(fig);
        root.appendChild(this.slopeText);
      } else {
        figures.appendChild(fig);
      }
      this.svgs[key] = svg;
      svg.addEventListener("pointermove", (ev) => this.cursor(ev, key));
      svg.addEventListener("pointerleave", () => this.cursor(null));
    }
    this.readout = document.createElement("p");
    this.readout.className = "explore-readout";
    figures.after(this.readout);

    const prov = this.data.provenance, env = prov.environment || {}, git = prov.git || {};
    const about = document.createElement("p");
    about.className = "explore-about";
    about.textContent =
      `Problem: n₁ = ${conf.n1}, n₂ = ${conf.n2}, r = ${conf.r}, κ = ${conf.kappa}, ` +
      `step μ = ${conf.step}, T = ${conf.iters} iterations, recorded every ` +
      `${prov.params.record_every}; ${this.data.runs.length} runs, computed when this page was ` +
      `built (${prov.finished}, matrix-sensing ${env.package_version}, commit ` +
      `${git.commit ? git.commit.slice(0, 10) : "unknown"}${git.dirty ? ", modified" : ""}). Data: `;
    const link = document.createElement("a");
    link.href = root.dataset.src;
    link.textContent = root.dataset.src.split("/").pop();
    about.append(link, ".");
    root.appendChild(about);
  };

  /* The grid lists α from large to small; its slider runs the other way, small α on the
   * left, as on the axis of the lower figure. */
  Explorer.prototype.toSlider = function (name, index) {
    return name === "alpha" && this.grid.alpha[0] > this.grid.alpha[this.grid.alpha.length - 1]
      ? this.grid.alpha.length - 1 - index
      : index;
  };
  Explorer.prototype.fromSlider = Explorer.prototype.toSlider; // an involution

  Explorer.prototype.run = function (sel) {
    const s = sel || this.selection;
    return this.index.get([s.alpha, s.k, s.m, s.seed].join(","));
  };

  Explorer.prototype.update = function () {
    const grid = this.grid, sel = this.selection;
    const valueText = {
      alpha: "α = " + alphaText(grid.alpha[sel.alpha]),
      k: "k = " + grid.k[sel.k],
      m: "m = " + grid.m[sel.m],
      seed: "seed " + grid.seed[sel.seed],
    };
    for (const [name] of CONTROLS) {
      this.inputs[name].value = this.toSlider(name, sel[name]);
      this.inputs[name].setAttribute("aria-valuetext", valueText[name]);
      this.outputs[name].textContent = valueText[name];
    }
    const run = this.run();
    const s = this.series(run);
    this.shown = { run: run, series: s };
    this.drawTrajectories(run, s);
    this.drawFinal();
    const where = Object.values(valueText).join(", ");
    const t = s.iteration;
    if (run.diverged) {
      this.status.textContent =
        `${where}: the run diverged at iteration ${run.diverged.iteration} ` +
        `(training loss ${sci(run.diverged.loss)}): at this width the initialization ` +
        `α G/√k is not small, and the step μ = ${this.data.configuration.step} is too large ` +
        "for it. The plots show the iterations before the divergence.";
    } else {
      const escape = s.test_error.findIndex((v) => v < 0.1);
      this.status.textContent =
        `${where}: at t = ${t[t.length - 1]} the test error is ${sci(s.test_error[t.length - 1])}, ` +
        `the training loss ${sci(s.train_loss[t.length - 1])}, the imbalance ` +
        `${sci(s.imbalance[t.length - 1])}; ` +
        (escape >= 0
          ? `the test error first drops below 0.1 at t = ${t[escape]} (recorded every ${t[1] - t[0]} iterations).`
          : "the test error never drops below 0.1.");
    }
  };

  Explorer.prototype.drawTrajectories = function (run, s) {
    const T = this.data.configuration.iters;
    const xticks = [];
    for (let v = 0; v <= T; v += T / 5) xticks.push(v);
    const key = [run.alpha, run.k, run.m, run.seed].join(",");
    const base = { x: [0, T], xticks: xticks, xlabel: "iteration t" };
    const d = this.domains;
    const tag = (name) => ({ "data-series": name, "data-run": key });
    this.plots = {};

    let p = axes(this.svgs.error, Object.assign({}, base, { y: d.error, ylabel: "error, loss" }));
    line(p, s.iteration, s.test_error, Object.assign({ class: "explore-s1" }, tag("test_error")));
    line(p, s.iteration, s.train_loss, Object.assign({ class: "explore-s2" }, tag("train_loss")));
    this.plots.error = p;

    p = axes(this.svgs.sigma, Object.assign({}, base, { y: d.sigma, ylabel: "σᵢ(UₜVₜᵀ)" }));
    const seedSigma = this.data.truth_sigma[run.seed];
    seedSigma.forEach((v, i) => {
      el("line", { class: "explore-truth", x1: p.box[0], x2: p.box[1], y1: p.y(v), y2: p.y(v),
        "stroke-dasharray": "5 3", "data-series": "truth_sigma_" + (i + 1) }, p.layer);
    });
    const k = this.grid.k[run.k];
    const sigmaNames = this.data.fields.filter((f) => f.startsWith("sigma_"));
    sigmaNames.forEach((f, i) => {
      if (i + 1 > k) return;
      line(p, s.iteration, s[f], Object.assign({ class: "explore-s" + (i + 1) }, tag(f)));
    });
    this.plots.sigma = p;

    p = axes(this.svgs.imbalance, Object.assign({}, base, { y: d.imbalance, ylabel: "‖UₜᵀUₜ − VₜᵀVₜ‖" }));
    line(p, s.iteration, s.imbalance, Object.assign({ class: "explore-s3" }, tag("imbalance")));
    this.plots.imbalance = p;

    p = axes(this.svgs.sine, Object.assign({}, base, { y: d.sine, ylabel: "sin ∠" }));
    line(p, s.iteration, s.sin_left, Object.assign({ class: "explore-s1" }, tag("sin_left")));
    line(p, s.iteration, s.sin_right, Object.assign({ class: "explore-s4" }, tag("sin_right")));
    this.plots.sine = p;

    if (run.diverged) {
      for (const name of ["error", "sigma", "imbalance", "sine"]) {
        const q = this.plots[name];
        text(q.layer, (q.box[0] + q.box[1]) / 2, (q.box[2] + q.box[3]) / 2,
          `diverged at t = ${run.diverged.iteration}`, { class: "explore-note", "text-anchor": "middle" });
      }
    }
  };

  Explorer.prototype.fitFor = function (ik, im, iseed) {
    const g = this.grid;
    return this.data.m3_fits.find((f) => f.k === g.k[ik] && f.m === g.m[im] && f.seed === g.seed[iseed]);
  };

  Explorer.prototype.drawFinal = function () {
    const g = this.grid, sel = this.selection, svg = this.svgs.final;
    const alphas = g.alpha;
    const x = [Math.min(...alphas) / 3, Math.max(...alphas) * 3];
    const p = axes(svg, { xlog: true, x: x, y: this.domains.final, xlabel: "initialization scale α", ylabel: "test error at t = T" });
    const markers = el("g", {}, p.layer);
    const points = [];
    g.seed.forEach((seed, is) => {
      const chosen = is === sel.seed;
      alphas.forEach((a, ia) => {
        const run = this.run({ alpha: ia, k: sel.k, m: sel.m, seed: is });
        if (run.diverged) return;
        el("circle", {
          cx: p.x(a), cy: p.y(run.final_test_error), r: chosen ? 4 : 3.2,
          class: chosen ? "explore-point explore-point-chosen" : "explore-point",
          "data-alpha": a, "data-seed": seed, "data-value": run.final_test_error,
        }, markers);
        if (chosen) points.push([a, run.final_test_error]);
      });
    });
    const current = this.run();
    if (!current.diverged) {
      el("circle", { cx: p.x(alphas[sel.alpha]), cy: p.y(current.final_test_error), r: 8, class: "explore-ring" }, p.layer);
    }
    const fit = this.fitFor(sel.k, sel.m, sel.seed);
    const where = `k = ${g.k[sel.k]}, m = ${g.m[sel.m]}, seed ${g.seed[sel.seed]}`;
    const diverged = alphas.filter((a, ia) => this.run({ alpha: ia, k: sel.k, m: sel.m, seed: sel.seed }).diverged);
    const note = diverged.length ? ` Not drawn (diverged): α = ${diverged.map(alphaText).join(", ")}.` : "";
    if (fit && fit.slope !== undefined) {
      const lo = Math.min(...fit.alphas), hi = Math.max(...fit.alphas);
      const f = (a) => Math.exp(fit.intercept + fit.slope * Math.log(a));
      el("path", {
        d: `M${p.x(lo).toFixed(2)} ${p.y(f(lo)).toFixed(2)} L${p.x(hi).toFixed(2)} ${p.y(f(hi)).toFixed(2)}`,
        class: "explore-fit", "data-slope": fit.slope,
      }, p.layer);
      this.slopeText.textContent =
        `${where}: slope of log(test error) against log α over α = ${alphaText(hi)} … ${alphaText(lo)} ` +
        `(least squares, the package's loglog_fit): ${fit.slope.toFixed(2)}. Claim M3 asks for a ` +
        `slope of at least 0.5 after 2500 iterations; here T = ${this.data.configuration.iters}, ` +
        "so this is not M3's verdict (the slope depends on T, see the M3 page)." + note;
    } else {
      this.slopeText.textContent = `${where}: too few runs for a slope.` + note;
    }
    this.shownFit = fit || null;
  };

  /* The linked cursor: the same iteration marked on the four trajectory plots. */
  Explorer.prototype.cursor = function (ev, key) {
    for (const name of ["error", "sigma", "imbalance", "sine"]) {
      const old = this.svgs[name].querySelector(".explore-cursor");
      if (old) old.remove();
    }
    if (!ev || key === "final" || !this.plots) {
      this.readout.textContent = "";
      return;
    }
    const svg = this.svgs[key], rect = svg.getBoundingClientRect();
    const px = ((ev.clientX - rect.left) / rect.width) * W;
    const plot = this.plots[key];
    const [lo, hi] = plot.x.domain;
    const tt = lo + ((px - plot.box[0]) / (plot.box[1] - plot.box[0])) * (hi - lo);
    const s = this.shown.series, t = s.iteration;
    let i = 0;
    for (let j = 0; j < t.length; j++) if (Math.abs(t[j] - tt) < Math.abs(t[i] - tt)) i = j;
    for (const name of ["error", "sigma", "imbalance", "sine"]) {
      const q = this.plots[name];
      el("line", { class: "explore-cursor", x1: q.x(t[i]), x2: q.x(t[i]), y1: q.box[2], y2: q.box[3] }, this.svgs[name]);
    }
    this.readout.textContent =
      `t = ${t[i]}: test error ${sci(s.test_error[i])}, training loss ${sci(s.train_loss[i])}, ` +
      `σ₁…σ₄ ${[1, 2, 3, 4].map((n) => sci(s["sigma_" + n][i])).join(", ")}, imbalance ` +
      `${sci(s.imbalance[i])}, sines ${sci(s.sin_left[i])} (left), ${sci(s.sin_right[i])} (right).`;
  };

  /* What is plotted now, for readers' scripts and the tests. */
  Explorer.prototype.current = function () {
    const g = this.grid, sel = this.selection, run = this.shown.run;
    return {
      selection: { alpha: g.alpha[sel.alpha], k: g.k[sel.k], m: g.m[sel.m], seed: g.seed[sel.seed] },
      indices: Object.assign({}, sel),
      diverged: run.diverged,
      final_test_error: run.final_test_error,
      series: this.shown.series,
      fit: this.shownFit,
    };
  };

  /* The data file is a script (window.exploreData = {...}), so that it loads from a web
   * server and from the disk alike. */
  function start() {
    const root = document.querySelector(".explore-dynamics[data-src]");
    if (!root) return;
    const api = { ready: null, current: null };
    window.explore = api;
    api.ready = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = root.dataset.src;
      script.onload = () => (window.exploreData ? resolve(window.exploreData) : reject(new Error("no data in the file")));
      script.onerror = () => reject(new Error(`${root.dataset.src} did not load`));
      document.head.appendChild(script);
    })
      .then((data) => {
        const explorer = new Explorer(root, data);
        api.current = () => explorer.current();
        api.explorer = explorer;
        root.classList.add("explore-ready");
        return explorer;
      })
      .catch((error) => {
        root.textContent = `The trajectories could not be loaded (${error.message}).`;
        throw error;
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
