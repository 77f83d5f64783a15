// CPU-vs-CUDA parity cases of the optimizer family. adam_step and sgd_step write in place, and the
// harness compares the mutated inputs the op declares, which for these variable-arity ops is the
// first tensor's state only (p, m, v; p, buf): so every case puts a tensor of odd size spanning
// several chunks of kOptimChunk first, and follows it with enough tensors (41) to need two launches
// of the CUDA tensor table; the SAM case is a ViT-B mask decoder's worth of tensors (~4.1 M values in
// 120 tensors) with the bytes a step must move. global_norm (every tensor enters its output) and
// clip_scale are compared whole. Each element's update is the same sequence of f32 operations on
// both backends; only sqrt and fused multiply-adds may round differently.
#include <cmath>

#include "parity.h"

namespace samcobot::parity {
namespace {

Tensor positive_tensor(const Shape& shape, uint64_t seed, double scale) {
  Tensor t = random_tensor(shape, seed, scale);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::fabs(p[i]);
  return t;
}

Tensor scalar(float value) {
  Tensor t = Tensor::empty({1}, DType::F32, Device::Cpu);
  t.data<float>()[0] = value;
  return t;
}

// Element counts: the first spans three chunks (and ends mid-block); then 40 odd sizes.
std::vector<int64_t> mixed_sizes() {
  std::vector<int64_t> sizes = {40007};
  for (int64_t i = 0; i < 40; ++i) sizes.push_back(1 + (i * 7919) % 3001);
  return sizes;
}

// The ViT-B mask decoder's tensor sizes, roughly: 120 tensors, ~4.1 M values.
std::vector<int64_t> decoder_sizes() {
  std::vector<int64_t> sizes;
  const int64_t pattern[] = {65536, 256, 524288, 2048, 32768, 256};
  for (int64_t i = 0; i < 120; ++i) sizes.push_back(pattern[i % 6]);
  return sizes;
}

// [scale, (p, g, state...) × k] with `states` state tensors per parameter (m, v or buf).
std::vector<Tensor> step_inputs(const std::vector<int64_t>& sizes, int states, uint64_t seed) {
  std::vector<Tensor> inputs = {scalar(0.8f)};
  for (size_t i = 0; i < sizes.size(); ++i) {
    const uint64_t s = seed + 10 * i;
    inputs.push_back(random_tensor({sizes[i]}, s));
    inputs.push_back(random_tensor({sizes[i]}, s + 1));
    inputs.push_back(random_tensor({sizes[i]}, s + 2, 0.1));
    if (states == 2) inputs.push_back(positive_tensor({sizes[i]}, s + 3, 0.01));
  }
  return inputs;
}

double total(const std::vector<int64_t>& sizes) {
  double n = 0;
  for (int64_t s : sizes) n += double(s);
  return n;
}

Attrs step_attrs(size_t count, int64_t step) {
  Attrs a;
  for (size_t i = 0; i < count; ++i) {
    a.lists["lr"].push_back(i % 2 ? 1e-4 : 1e-2);
    a.lists["weightDecay"].push_back(i % 3 ? 0.0 : 1e-2);
  }
  a.numbers["step"] = double(step);
  return a;
}

std::vector<Case> make_optim_cases() {
  std::vector<Case> cases;
  for (const auto& [label, sizes] : {std::pair{std::string("41 tensors, the first of 40007"), mixed_sizes()},
                                     std::pair{std::string("ViT-B decoder (120 tensors)"), decoder_sizes()}}) {
    for (bool decoupled : {false, true}) {
      Attrs a = step_attrs(sizes.size(), 3);
      a.numbers["decoupled"] = decoupled ? 1 : 0;
      Case adam{std::string(decoupled ? "adamw_step " : "adam_step ") + label, "adam_step", step_inputs(sizes, 2, 100), a, 1e-6};
      adam.bytes = 7.0 * 4.0 * total(sizes);  // read p, g, m, v; write p, m, v
      cases.push_back(adam);
    }
    Attrs s = step_attrs(sizes.size(), 2);
    s.numbers["momentum"] = 0.9;
    s.numbers["dampening"] = 0.1;
    Case sgd{"sgd_step momentum " + label, "sgd_step", step_inputs(sizes, 1, 200), s, 1e-6};
    sgd.bytes = 5.0 * 4.0 * total(sizes);  // read p, g, buf; write p, buf
    cases.push_back(sgd);
    std::vector<Tensor> grads;
    for (size_t i = 0; i < sizes.size(); ++i) grads.push_back(random_tensor({sizes[i]}, 300 + i));
    Case norm{"global_norm " + label, "global_norm", grads, Attrs{}, 1e-6};
    norm.bytes = 4.0 * total(sizes);
    cases.push_back(norm);
  }
  Attrs clip;
  clip.numbers["maxNorm"] = 1.0;
  for (float norm : {0.25f, 7.5f}) cases.push_back({"clip_scale norm " + to_text(norm), "clip_scale", {scalar(norm)}, clip, 1e-7});
  return cases;
}

const bool registered = register_cases("optim", make_optim_cases);

}  // namespace
}  // namespace samcobot::parity
