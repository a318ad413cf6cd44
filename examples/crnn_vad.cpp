// A whole PyTorch model in C++: a CRNN voice-activity detector (a Conv1d front end, a GRU, a Linear head;
// tools/gen_crnn_vad.py defines, trains and exports it), loaded from its state dict in one strict call and
// run chunk by chunk on a WAV file as a real-time application would: 512 samples (32 ms) in, a speech
// probability out, nothing allocated per chunk. It prints a bar per chunk as it goes, checks itself against
// PyTorch's per-chunk probabilities on the demo clip, and writes a plot of the probability over time.
//
//   crnn_vad [model.safetensors [audio.wav [plot.png]]]     (16 kHz, 16-bit mono; defaults: the demo)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <seqnet/seqnet.hpp>

#include "crnn_vad_model.hpp"
#include "png.hpp"
#include "wav.hpp"

namespace {

constexpr double threshold = 0.5;

std::string bar(double probability, int width) {
  const int filled = static_cast<int>(std::lround(probability * width));
  std::string s;
  for (int i = 0; i < width; ++i) s += i < filled ? "\u2588" : "\u00b7";
  return s;
}

// The probability over time (blue), the threshold (grey), the clip's waveform behind them, and the
// detected speech shaded.
void plot(const std::vector<float>& audio, const std::vector<float>& probability, double seconds_per_chunk,
          const std::string& path) {
  const int width = 900, height = 300, left = 10, right = 10, top = 10, bottom = 10;
  const int plot_w = width - left - right, plot_h = height - top - bottom;
  Canvas canvas(width, height, {255, 255, 255});
  const auto x_of = [&](double chunk) { return left + static_cast<int>(chunk * plot_w / static_cast<double>(probability.size())); };
  const auto y_of = [&](double p) { return top + static_cast<int>((1.0 - p) * (plot_h - 1)); };
  for (std::size_t k = 0; k < probability.size(); ++k)
    if (probability[k] > threshold) canvas.fill(x_of(static_cast<double>(k)), top, x_of(static_cast<double>(k + 1)), top + plot_h, {222, 242, 222});
  const double samples_per_pixel = static_cast<double>(audio.size()) / plot_w;
  for (int x = 0; x < plot_w; ++x) {  // the waveform's envelope, around the middle
    float peak = 0;
    for (auto i = static_cast<std::size_t>(x * samples_per_pixel); i < static_cast<std::size_t>((x + 1) * samples_per_pixel) && i < audio.size(); ++i)
      peak = std::max(peak, std::abs(audio[i]));
    const int half = static_cast<int>(std::min(1.0f, peak * 2.0f) * plot_h / 2);
    canvas.fill(left + x, top + plot_h / 2 - half, left + x + 1, top + plot_h / 2 + half + 1, {190, 190, 190});
  }
  for (int x = left; x < left + plot_w; x += 6) canvas.fill(x, y_of(threshold), x + 3, y_of(threshold) + 1, {120, 120, 120});
  for (std::size_t k = 1; k < probability.size(); ++k)
    canvas.line(x_of(static_cast<double>(k) - 0.5), y_of(probability[k - 1]), x_of(static_cast<double>(k) + 0.5),
                y_of(probability[k]), {30, 90, 200}, 3);
  for (double s = 1.0; s < static_cast<double>(probability.size()) * seconds_per_chunk; s += 1.0)  // a tick per second
    canvas.fill(x_of(s / seconds_per_chunk), top + plot_h - 8, x_of(s / seconds_per_chunk) + 1, top + plot_h, {0, 0, 0});
  canvas.write_png(path);
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string data = SEQNET_EXAMPLE_DATA_DIR;
  const std::string model_path = argc > 1 ? argv[1] : data + "/crnn_vad.safetensors";
  const std::string wav_path = argc > 2 ? argv[2] : data + "/vad_demo.wav";
  const std::string png_path = argc > 3 ? argv[3] : std::string(SEQNET_EXAMPLE_OUTPUT_DIR) + "/crnn_vad.png";
  const bool demo = argc <= 2;

  CRNNVad<float> model;
  std::cout << model.repr() << "\n";
  std::cout << seqnet::load_safetensors(model_path, model) << "\n";  // strict: every key, PyTorch's names
  model.eval();
  model.rnn.prepack();  // pack the GRU's weights once: the real-time step path

  const WavAudio wav = read_wav(wav_path);
  if (wav.sample_rate != CRNNVad<float>::sample_rate)
    throw std::runtime_error(wav_path + ": expected 16000 Hz audio, got " + std::to_string(wav.sample_rate));
  const auto chunk = static_cast<std::size_t>(CRNNVad<float>::chunk_samples);
  const std::size_t chunks = wav.samples.size() / chunk;
  const double seconds_per_chunk = static_cast<double>(chunk) / CRNNVad<float>::sample_rate;
  std::cout << wav_path.substr(wav_path.find_last_of('/') + 1) << ": " << chunks << " chunks of " << chunk
            << " samples (" << seconds_per_chunk * 1000 << " ms)\n\n";

  CRNNVadStream<float> vad(model);
  std::vector<float> probability(chunks);
  double busy_seconds = 0;
  for (std::size_t k = 0; k < chunks; ++k) {
    const auto start = std::chrono::steady_clock::now();
    probability[k] = vad.step(wav.samples.data() + k * chunk);
    busy_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%6.2f s %s %.3f%s\n", static_cast<double>(k) * seconds_per_chunk, bar(probability[k], 30).c_str(),
                static_cast<double>(probability[k]), probability[k] > threshold ? " speech" : "");
    std::fflush(stdout);
  }

  std::cout << "\nspeech segments (probability > " << threshold << "):\n";
  for (std::size_t k = 0; k < chunks;) {
    if (!(probability[k] > threshold)) {
      ++k;
      continue;
    }
    const std::size_t first = k;
    while (k < chunks && probability[k] > threshold) ++k;
    std::printf("  %.3f s to %.3f s\n", static_cast<double>(first) * seconds_per_chunk, static_cast<double>(k) * seconds_per_chunk);
  }
  std::printf("%.1f us per chunk on average (a chunk is %.0f ms of audio)\n", busy_seconds / static_cast<double>(chunks) * 1e6,
              seconds_per_chunk * 1000);

  int status = 0;
  if (demo) {  // PyTorch's per-chunk probabilities for the demo clip (tools/gen_crnn_vad.py)
    const auto golden = seqnet::Safetensors::read(data + "/crnn_vad_golden.safetensors");
    const std::vector<double> expected = golden.values<double>("probability32");
    double worst = 0;
    for (std::size_t k = 0; k < chunks && k < expected.size(); ++k)
      worst = std::max(worst, std::abs(static_cast<double>(probability[k]) - expected[k]));
    const bool same = expected.size() == chunks && worst <= 1e-5;
    std::printf("largest difference from PyTorch over %zu chunks: %.2g\n", chunks, worst);
    std::cout << "matches PyTorch's per-chunk probabilities (fp32, 1e-5): " << (same ? "yes" : "NO") << "\n";
    status = same ? 0 : 1;
  }
  plot(wav.samples, probability, seconds_per_chunk, png_path);
  std::cout << "plot written to " << png_path.substr(png_path.find_last_of('/') + 1) << "\n";
  return status;
} catch (const std::exception& e) {
  std::cerr << "crnn_vad: " << e.what() << "\n";
  return 1;
}
