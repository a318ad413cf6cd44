// SPDX-License-Identifier: MIT
/// @file optim/lr_scheduler.hpp
/// `StepLR<T>` and `CosineAnnealingLR<T>`: `torch.optim.lr_scheduler.StepLR` / `CosineAnnealingLR`.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "optimizer.hpp"

namespace seqnet::optim {

/// What `torch.optim.lr_scheduler.LRScheduler` does around `get_lr()`: the base learning rates are the
/// groups' learning rates at construction (PyTorch's `initial_lr`), construction performs step 0 (which
/// leaves them unchanged), and every `step()` increments `last_epoch` and writes the new rates into the
/// optimizer's groups. Call it after `optimizer.step()`, as in PyTorch.
template <typename T>
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;

  void step() {
    ++last_epoch_;
    compute_lr(last_lr_);
    for (std::size_t g = 0; g < last_lr_.size(); ++g) optimizer_->set_lr(g, last_lr_[g]);
  }
  /// The learning rate of every group after the last `step()` (or construction).
  const std::vector<double>& get_last_lr() const noexcept { return last_lr_; }
  std::int64_t last_epoch() const noexcept { return last_epoch_; }
  const std::vector<double>& base_lrs() const noexcept { return base_lrs_; }

 protected:
  explicit LRScheduler(Optimizer<T>& optimizer) : optimizer_(&optimizer) {
    for (std::size_t g = 0; g < optimizer.num_param_groups(); ++g) base_lrs_.push_back(optimizer.lr(g));
    last_lr_ = base_lrs_;
  }

  /// PyTorch's `get_lr()` for `last_epoch_` >= 1 (the recursive form: from the groups' current rates).
  virtual void compute_lr(std::vector<double>& lrs) const = 0;

  double current_lr(std::size_t group) const { return optimizer_->lr(group); }

  Optimizer<T>* optimizer_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  std::int64_t last_epoch_ = 0;
};

/// Multiplies every group's learning rate by `gamma` every `step_size` steps, `StepLR(optimizer,
/// step_size, gamma)`: `lr = lr * gamma` when `last_epoch % step_size == 0`, applied to the current rate
/// (so a rate set by hand in between is decayed from). `step_size` must be positive (PyTorch fails with
/// ZeroDivisionError at the first step instead).
template <typename T>
class StepLR : public LRScheduler<T> {
 public:
  StepLR(Optimizer<T>& optimizer, std::int64_t step_size, double gamma = 0.1)
      : LRScheduler<T>(optimizer), step_size_(step_size), gamma_(gamma) {
    SEQNET_CHECK(value_error, step_size > 0, "StepLR: step_size must be positive, got ", step_size);
  }

 protected:
  void compute_lr(std::vector<double>& lrs) const override {
    const bool decay = this->last_epoch_ % step_size_ == 0;
    for (std::size_t g = 0; g < lrs.size(); ++g) lrs[g] = decay ? this->current_lr(g) * gamma_ : this->current_lr(g);
  }

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// Cosine annealing from each group's base rate to `eta_min` over `T_max` steps, and back up over the
/// next `T_max` (no restarts), `CosineAnnealingLR(optimizer, T_max, eta_min)`. Like PyTorch 2.x's
/// `get_lr()`, it is recursive, from the groups' current rates:
///
///     (last_epoch - 1 - T_max) % (2 T_max) == 0:  lr + (base_lr - eta_min) * (1 - cos(pi / T_max)) / 2
///     otherwise:  (1 + cos(pi * last_epoch / T_max)) / (1 + cos(pi * (last_epoch - 1) / T_max))
///                 * (lr - eta_min) + eta_min
///
/// which follows the closed form `eta_min + (base_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2`
/// up to rounding. `T_max` must be positive (PyTorch fails with ZeroDivisionError at the first step).
template <typename T>
class CosineAnnealingLR : public LRScheduler<T> {
 public:
  CosineAnnealingLR(Optimizer<T>& optimizer, std::int64_t T_max, double eta_min = 0.0)
      : LRScheduler<T>(optimizer), t_max_(T_max), eta_min_(eta_min) {
    SEQNET_CHECK(value_error, T_max > 0, "CosineAnnealingLR: T_max must be positive, got ", T_max);
  }

 protected:
  void compute_lr(std::vector<double>& lrs) const override {
    const double pi = 3.141592653589793;  // Python's math.pi
    const std::int64_t epoch = this->last_epoch_;
    const double t_max = static_cast<double>(t_max_);
    // Python's % takes the sign of the divisor.
    const std::int64_t period = 2 * t_max_;
    const std::int64_t phase = ((epoch - 1 - t_max_) % period + period) % period;
    for (std::size_t g = 0; g < lrs.size(); ++g) {
      const double lr = this->current_lr(g);
      if (phase == 0) {
        lrs[g] = lr + (this->base_lrs_[g] - eta_min_) * (1 - std::cos(pi / t_max)) / 2;
      } else {
        lrs[g] = (1 + std::cos(pi * static_cast<double>(epoch) / t_max)) /
                     (1 + std::cos(pi * static_cast<double>(epoch - 1) / t_max)) * (lr - eta_min_) +
                 eta_min_;
      }
    }
  }

 private:
  std::int64_t t_max_;
  double eta_min_;
};

}  // namespace seqnet::optim
