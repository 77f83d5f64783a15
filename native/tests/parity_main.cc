// The Node-free CPU-vs-CUDA parity runner and kernel timer (cases: native/tests/parity_*.cc).
//
//   sam_cobot_parity [substring ...] [--runs N] [--json FILE] [--cpu-only] [--list]
//
// For every registered case whose family, label or op contains one of the substrings (every case
// when none is given), the runner calls the op's CPU kernel and its CUDA kernel directly on the same
// inputs, with every block the arena hands out poisoned (0xFF bytes, NaN for floats) so an output
// element a kernel forgets to write shows up. It compares each output, and each input the op
// mutates, relative to the CPU result's largest magnitude, then times the CUDA kernel with CUDA
// events (median of --runs runs after one warm-up) against its FLOP and byte floors. A line per
// case is printed as it finishes, the table last.
//
// Exit status: 0 every case passed, 1 a case failed, 2 no usable CUDA backend (nothing compared),
// 64 bad arguments. --cpu-only runs the CPU side alone (no CUDA needed) and checks that every
// output is written and finite.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "../core/allocator.h"
#include "../core/device.h"
#include "parity.h"
#ifdef SAM_COBOT_WITH_CUDA
#include "../cuda/runtime.h"
#endif

namespace samcobot::parity {
namespace {

// Floors for one H200 SXM, from NVIDIA's datasheet. On these machines a device-to-device copy was
// measured at about 4.3 TB/s and a large bf16 product at about 790 TFLOP/s, so ~85-90% of a floor
// is the practical best.
constexpr double kPeakF32 = 67e12;         // f32 FMA on the CUDA cores, no tensor cores
constexpr double kPeakTf32 = 494e12;       // dense TF32 on the tensor cores (SAM_COBOT_TF32=1)
constexpr double kPeakHalf = 989e12;       // dense bf16/f16 on the tensor cores, f32 accumulation
constexpr double kPeakBandwidth = 4.8e12;  // HBM3e, bytes per second

struct Options {
  std::vector<std::string> filters;
  int runs = 5;
  bool cpu_only = false;
  bool list = false;
  std::string json;
};

struct Result {
  std::string family, label, op;
  bool ok = true;
  std::string note;
  double max_abs = 0, rel = 0, tolerance = 0;
  double cpu_ms = -1, cuda_ms = -1, floor_ms = -1;
  double flops = 0, bytes = 0;
};

// A case's tensors on one device, with the outputs its validation asks for.
struct Prepared {
  std::vector<Tensor> inputs, outputs;
};

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Tensor copy_tensor(const Tensor& t, Device to) {
  Tensor out = Tensor::empty(t.shape(), t.dtype(), to);
  if (t.bytes() == 0) return out;
  if (t.device() == Device::Cpu && to == Device::Cpu) std::memcpy(out.raw(), t.raw(), t.bytes());
  else if (t.device() == Device::Cpu) cuda_hooks().upload(out.raw(), t.raw(), t.bytes());
  else if (to == Device::Cpu) cuda_hooks().download(out.raw(), t.raw(), t.bytes());
  else fail("ERR_UNSUPPORTED", "parity", "a copy to or from the CPU", "the copy", "cuda to cuda");
  return out;
}

std::vector<double> host_values(const Tensor& t) {
  Tensor h = t.device() == Device::Cpu ? t : copy_tensor(t, Device::Cpu);
  std::vector<double> v(static_cast<size_t>(h.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    switch (h.dtype()) {
      case DType::F32: v[i] = h.data<float>()[i]; break;
      case DType::F64: v[i] = h.data<double>()[i]; break;
      case DType::BF16: v[i] = bf16_to_float(h.data<uint16_t>()[i]); break;
      case DType::F16: v[i] = f16_to_float(h.data<uint16_t>()[i]); break;
      case DType::I32: v[i] = h.data<int32_t>()[i]; break;
      case DType::U8: v[i] = h.data<uint8_t>()[i]; break;
    }
  }
  return v;
}

// The CPU side of a half-precision case: the same values the CUDA side gets after its cast.
void round_to(Tensor& t, DType half) {
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = half == DType::BF16 ? bf16_to_float(float_to_bf16(p[i])) : f16_to_float(float_to_f16(p[i]));
}

Tensor cast_on_cuda(const Tensor& t, DType to) {
  const OpDef* cast = find_op("cast");
  Attrs attrs;
  attrs.strings["dtype"] = dtype_name(to);
  OpCall call{cast->name, {t}, {Tensor::empty(t.shape(), to, Device::Cuda)}, attrs};
  cast->cuda(call);
  return call.out(0);
}

Prepared prepare(const OpDef& def, const Case& c, Device device) {
  Prepared p;
  for (const Tensor& input : c.inputs) {
    Tensor t = copy_tensor(input, device);
    if (t.dtype() == DType::F32 && c.cuda_dtype != DType::F32) {
      if (device == Device::Cuda) t = cast_on_cuda(t, c.cuda_dtype);
      else round_to(t, c.cuda_dtype);
    }
    p.inputs.push_back(t);
  }
  for (const TensorSpec& spec : def.validate(p.inputs, c.attrs)) p.outputs.push_back(Tensor::empty(spec.shape, spec.dtype, device));
  return p;
}

void launch(const OpDef& def, KernelFn kernel, Prepared& p, const Attrs& attrs) {
  OpCall call{def.name, p.inputs, p.outputs, attrs};
  kernel(call);
}

// What the op produced: its outputs, then the inputs it writes in place.
std::vector<Tensor> results(const OpDef& def, const Prepared& p) {
  std::vector<Tensor> r = p.outputs;
  for (int i : def.mutated_inputs) r.push_back(p.inputs[static_cast<size_t>(i)]);
  return r;
}

double floor_seconds(const Case& c, const Prepared& cuda) {
  double peak = kPeakF32;
  DType dtype = cuda.inputs.empty() ? DType::F32 : cuda.inputs[0].dtype();
#ifdef SAM_COBOT_WITH_CUDA
  if (dtype == DType::F32 && cuda::allow_tf32()) peak = kPeakTf32;
#endif
  if (dtype == DType::BF16 || dtype == DType::F16) peak = kPeakHalf;
  return std::max(c.flops / peak, c.bytes / kPeakBandwidth);
}

#ifdef SAM_COBOT_WITH_CUDA
// Median milliseconds of `runs` launches on the backend's stream, after one warm-up.
double time_cuda(const std::function<void()>& run, int runs) {
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  run();
  cuda_hooks().synchronize();
  std::vector<float> ms;
  for (int i = 0; i < runs; ++i) {
    CUDA_CHECK(cudaEventRecord(start, cuda::stream()));
    run();
    CUDA_CHECK(cudaEventRecord(stop, cuda::stream()));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float elapsed = 0;
    CUDA_CHECK(cudaEventElapsedTime(&elapsed, start, stop));
    ms.push_back(elapsed);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}
#endif

// Largest difference relative to the CPU's largest finite magnitude. NaN and infinities must match
// exactly (a NaN on one side only counts as infinitely wrong; a NaN in a CPU result also means the
// CPU kernel left the element unwritten, which run_case reports).
void compare(const std::vector<double>& cpu, const std::vector<double>& cuda, Result& r) {
  double scale = 0;
  for (double v : cpu)
    if (std::isfinite(v)) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < cpu.size(); ++i) {
    double diff;
    if (std::isnan(cpu[i]) || std::isnan(cuda[i])) diff = std::isnan(cpu[i]) && std::isnan(cuda[i]) ? 0 : INFINITY;
    else if (std::isinf(cpu[i]) || std::isinf(cuda[i])) diff = cpu[i] == cuda[i] ? 0 : INFINITY;
    else diff = std::fabs(cpu[i] - cuda[i]);
    r.max_abs = std::max(r.max_abs, diff);
  }
  r.rel = std::max(r.rel, r.max_abs / std::max(scale, 1e-30));
}

bool has_nan(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
}

Result run_case(const std::string& family, const Case& c, const Options& opt) {
  Result r;
  r.family = family;
  r.label = c.label;
  r.op = c.op;
  r.tolerance = c.tolerance;
  r.flops = c.flops;
  r.bytes = c.bytes;
  try {
    const OpDef* def = find_op(c.op);
    if (!def) fail("ERR_ARGUMENT", "parity", "a registered op", "the case's op", c.op);
    Prepared cpu = prepare(*def, c, Device::Cpu);
    double t0 = now_ms();
    launch(*def, def->cpu, cpu, c.attrs);
    r.cpu_ms = now_ms() - t0;
    std::vector<Tensor> expected = results(*def, cpu);
    if (opt.cpu_only) {
      for (const Tensor& t : expected)
        if (has_nan(host_values(t))) r.ok = false, r.note = "CPU result holds NaN (an element left unwritten?)";
      return r;
    }
    if (!def->cuda) fail("ERR_UNSUPPORTED", c.op, "a CUDA kernel", "the op", "none registered");
    Prepared gpu = prepare(*def, c, Device::Cuda);
    launch(*def, def->cuda, gpu, c.attrs);
    cuda_hooks().synchronize();
    std::vector<Tensor> got = results(*def, gpu);
    for (size_t i = 0; i < expected.size(); ++i) {
      std::vector<double> want = host_values(expected[i]);
      if (has_nan(want)) r.note = "CPU result holds NaN (an element left unwritten?)";
      compare(want, host_values(got[i]), r);
    }
    r.ok = r.note.empty() && r.rel <= c.tolerance;
#ifdef SAM_COBOT_WITH_CUDA
    if (opt.runs > 0) {
      r.cuda_ms = time_cuda([&] { launch(*def, def->cuda, gpu, c.attrs); }, opt.runs);
      double floor_s = floor_seconds(c, gpu);
      if (floor_s > 0) r.floor_ms = floor_s * 1e3;
    }
#endif
  } catch (const std::exception& e) {
    r.ok = false;
    r.note = e.what();
  }
  return r;
}

std::string achieved(const Result& r) {
  char text[48] = "";
  if (r.cuda_ms <= 0) return "";
  if (r.flops > 0) std::snprintf(text, sizeof text, "%.1f TFLOP/s", r.flops / (r.cuda_ms * 1e-3) / 1e12);
  else if (r.bytes > 0) std::snprintf(text, sizeof text, "%.0f GB/s", r.bytes / (r.cuda_ms * 1e-3) / 1e9);
  return text;
}

std::string number(const char* format, double v) {
  if (v < 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

void print_table(const std::vector<Result>& results, bool cpu_only) {
  std::printf("\n%-50s %-6s %-16s %9s %9s %7s %9s %9s %9s %6s %s\n", "case", "result", "op", "max|err|", "rel err", "tol", "cpu ms", "cuda ms",
              "floor ms", "floor%", "achieved");
  for (const Result& r : results) {
    std::string pct = r.cuda_ms > 0 && r.floor_ms > 0 ? number("%.0f%%", 100 * r.floor_ms / r.cuda_ms) : "-";
    std::printf("%-50s %-6s %-16s %9.2g %9.2g %7.0e %9s %9s %9s %6s %s\n", r.label.c_str(), r.ok ? (cpu_only ? "cpu-ok" : "pass") : "FAIL", r.op.c_str(),
                r.max_abs, r.rel, r.tolerance, number("%.3f", r.cpu_ms).c_str(), number("%.4f", r.cuda_ms).c_str(), number("%.4f", r.floor_ms).c_str(),
                pct.c_str(), achieved(r).c_str());
  }
  int failed = static_cast<int>(std::count_if(results.begin(), results.end(), [](const Result& r) { return !r.ok; }));
  std::printf("%zu cases, %d failed%s\n", results.size(), failed, cpu_only ? " (CPU only: nothing compared)" : "");
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\', out += ch;
    else if (static_cast<unsigned char>(ch) < 0x20) out += ' ';
    else out += ch;
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return v > 0 ? "1e308" : (v < 0 ? "-1e308" : "null");
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

void write_json(const std::string& path, const std::vector<Result>& results, const std::string& device) {
  std::ofstream f(path);
  f << "{\"device\": " << json_string(device) << ",\n \"cases\": [\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    f << "  {\"family\": " << json_string(r.family) << ", \"label\": " << json_string(r.label) << ", \"op\": " << json_string(r.op)
      << ", \"ok\": " << (r.ok ? "true" : "false") << ", \"maxAbs\": " << json_number(r.max_abs) << ", \"rel\": " << json_number(r.rel)
      << ", \"tolerance\": " << json_number(r.tolerance) << ", \"cpuMs\": " << json_number(r.cpu_ms) << ", \"cudaMs\": " << json_number(r.cuda_ms)
      << ", \"floorMs\": " << json_number(r.floor_ms) << ", \"flops\": " << json_number(r.flops) << ", \"bytes\": " << json_number(r.bytes)
      << ", \"note\": " << json_string(r.note) << "}" << (i + 1 < results.size() ? ",\n" : "\n");
  }
  f << " ]}\n";
}

bool parse(int argc, char** argv, Options& opt) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--cpu-only") opt.cpu_only = true;
    else if (a == "--list") opt.list = true;
    else if (a == "--runs" && i + 1 < argc) opt.runs = std::max(0, std::atoi(argv[++i]));
    else if (a == "--json" && i + 1 < argc) opt.json = argv[++i];
    else if (a.rfind("--", 0) == 0) return false;
    else opt.filters.push_back(a);
  }
  return true;
}

bool selected(const Options& opt, const std::string& family, const Case& c) {
  if (opt.filters.empty()) return true;
  for (const std::string& f : opt.filters)
    if (family.find(f) != std::string::npos || c.label.find(f) != std::string::npos || c.op.find(f) != std::string::npos) return true;
  return false;
}

int run(int argc, char** argv) {
  Options opt;
  if (!parse(argc, argv, opt)) {
    std::fprintf(stderr, "usage: sam_cobot_parity [substring ...] [--runs N] [--json FILE] [--cpu-only] [--list]\n");
    return 64;
  }
  std::string device = "cpu only";
  if (!opt.cpu_only && !opt.list) {
    std::string reason;
    if (!cuda_hooks().built) {
      std::printf("sam_cobot_parity: this build has no CUDA backend (CMake found no CUDA compiler or cuBLAS); nothing to compare. "
                  "--cpu-only runs the CPU side alone.\n");
      return 2;
    }
    if (!cuda_available(&reason)) {
      std::printf("sam_cobot_parity: no usable GPU: %s\nNothing to compare; --cpu-only runs the CPU side alone.\n", reason.c_str());
      return 2;
    }
    device = cuda_hooks().describe();
    std::printf("sam_cobot_parity on %s\n", device.c_str());
  }
  set_allocation_poison(true);
  std::vector<Result> all;
  for (const Family& family : families()) {
    std::vector<Case> cases;
    try {
      cases = family.make();
    } catch (const std::exception& e) {
      Result r;
      r.family = r.label = family.name;
      r.op = "(case generator)";
      r.ok = false;
      r.note = e.what();
      all.push_back(r);
      continue;
    }
    for (const Case& c : cases) {
      if (!selected(opt, family.name, c)) continue;
      if (opt.list) {
        std::printf("%s: %s (%s)\n", family.name.c_str(), c.label.c_str(), c.op.c_str());
        continue;
      }
      Result r = run_case(family.name, c, opt);
      std::printf("%-5s %s/%s%s%s\n", r.ok ? "ok" : "FAIL", family.name.c_str(), r.label.c_str(), r.note.empty() ? "" : ": ", r.note.c_str());
      std::fflush(stdout);
      all.push_back(r);
      arena_empty_cache(Device::Cpu);
      if (!opt.cpu_only) arena_empty_cache(Device::Cuda);
    }
  }
  if (opt.list) return 0;
  print_table(all, opt.cpu_only);
  if (!opt.json.empty()) write_json(opt.json, all, device);
  return std::all_of(all.begin(), all.end(), [](const Result& r) { return r.ok; }) ? 0 : 1;
}

}  // namespace
}  // namespace samcobot::parity

int main(int argc, char** argv) { return samcobot::parity::run(argc, argv); }
