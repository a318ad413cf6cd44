// SPDX-License-Identifier: MIT
// Reads a 16-bit PCM mono WAV file (the canonical RIFF layout, other chunks skipped) into floats in
// [-1, 1), as `torchaudio.load` and `soundfile.read` scale them (sample / 32768). Example code.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

struct WavAudio {
  std::vector<float> samples;
  std::uint32_t sample_rate = 0;
};

inline WavAudio read_wav(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot open " + path);
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto u16 = [&](std::size_t at) { return static_cast<std::uint32_t>(bytes[at] | bytes[at + 1] << 8); };
  const auto u32 = [&](std::size_t at) { return u16(at) | u16(at + 2) << 16; };
  const auto fail = [&](const std::string& why) { throw std::runtime_error(path + ": " + why); };
  if (bytes.size() < 12 || std::string(bytes.begin(), bytes.begin() + 4) != "RIFF" ||
      std::string(bytes.begin() + 8, bytes.begin() + 12) != "WAVE")
    fail("not a RIFF/WAVE file");
  WavAudio audio;
  bool format_seen = false;
  for (std::size_t at = 12; at + 8 <= bytes.size();) {
    const std::string id(bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.begin() + static_cast<std::ptrdiff_t>(at + 4));
    const std::size_t size = u32(at + 4), body = at + 8;
    if (size > bytes.size() - body) fail("chunk '" + id + "' runs past the end of the file");
    if (id == "fmt ") {
      if (size < 16 || u16(body) != 1) fail("only PCM WAV files are read");
      if (u16(body + 2) != 1) fail("expected mono audio, got " + std::to_string(u16(body + 2)) + " channels");
      if (u16(body + 14) != 16) fail("expected 16-bit samples, got " + std::to_string(u16(body + 14)) + " bits");
      audio.sample_rate = u32(body + 4);
      format_seen = true;
    } else if (id == "data") {
      if (!format_seen) fail("'data' before 'fmt '");
      audio.samples.resize(size / 2);
      for (std::size_t i = 0; i < audio.samples.size(); ++i)
        audio.samples[i] = static_cast<float>(static_cast<std::int16_t>(u16(body + 2 * i))) / 32768.0f;
      return audio;
    }
    at = body + size + (size & 1);
  }
  fail("no 'data' chunk");
  return audio;
}
