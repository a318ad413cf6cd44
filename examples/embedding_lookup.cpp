// 1.1 Word ids to vectors with nn.Embedding: a lookup table with one row per word. A fresh table holds
// random N(0, 1) values; the tutorial fills it from pretrained vectors (word2vec, GloVe) instead.
//
//   word_to_ix = {'hello': 0, 'world': 1}
//   lookup_tensor = torch.tensor([word_to_ix['hello']], dtype=torch.long)
//   embeds = nn.Embedding(2, 5)
//   embeds(lookup_tensor)
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <seqnet/embedding.hpp>

#include "print.hpp"

int main() {
  std::map<std::string, std::int64_t> word_to_ix{{"hello", 0}, {"world", 1}};
  const std::vector<std::int64_t> lookup_tensor{word_to_ix["hello"]};

  // A random table: seqnet draws from its own generator, so the numbers differ from the tutorial's
  // (which are random too), and seqnet has no autograd, so no grad_fn is printed.
  seqnet::Embedding<float> embeds(2, 5);
  std::cout << embeds << '\n';
  const seqnet::Tensor<float, 2> hello_embed = embeds(lookup_tensor);
  std::cout << py::tensor_str(hello_embed) << '\n';
  std::cout << seqnet::shape(hello_embed) << '\n';
  std::cout << '\n';

  // The same lookup on a table of known vectors (the tutorial's printed row for 'hello', and one for
  // 'world'): nn.Embedding.from_pretrained(weights) prints exactly this in PyTorch.
  seqnet::Tensor<float, 2> weights(2, 5);
  weights.setValues({{0.8536f, 0.6441f, -0.1695f, 0.5107f, 0.0300f}, {-0.4273f, 1.2158f, 0.0912f, -0.7731f, 0.3365f}});
  const auto pretrained = seqnet::Embedding<float>::from_pretrained(weights);
  std::cout << pretrained << '\n';
  std::cout << py::tensor_str(pretrained(lookup_tensor)) << '\n';
  std::cout << py::tensor_str(pretrained({word_to_ix["hello"], word_to_ix["world"]})) << '\n';
}
