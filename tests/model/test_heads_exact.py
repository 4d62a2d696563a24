"""Classification heads: what they pool and what they must not depend on (exact invariants)."""

from __future__ import annotations

import torch

from cwtmae_cli.model.heads import LatentReasoningHead, ResidualBlock, ResidualMLPHead


def test_mlp_head_sees_only_the_mean_of_the_patch_tokens() -> None:
    torch.manual_seed(0)
    head = ResidualMLPHead(embed_dim=8, num_classes=3, hidden_dim=16).eval()
    tokens = torch.randn(2, 6, 8)
    same_mean = tokens.mean(dim=1, keepdim=True).expand(-1, 6, -1)  # (B, N, D), equal tokens
    with torch.no_grad():
        torch.testing.assert_close(head(tokens), head(same_mean))
        torch.testing.assert_close(head(tokens), head(tokens.flip(1)))


def test_latent_reasoning_head_does_not_depend_on_the_order_of_its_reasoning_tokens() -> None:
    """Cross-attention, self-attention and FFN treat the reasoning tokens alike (no positions)
    and the head averages them: permuting them leaves the logits unchanged."""
    torch.manual_seed(0)
    head = LatentReasoningHead(embed_dim=8, num_classes=3, num_heads=2,
                               num_reasoning_tokens=4).eval()
    tokens = torch.randn(2, 6, 8)
    with torch.no_grad():
        before = head(tokens)
        head.reasoning_tokens.copy_(head.reasoning_tokens[:, [2, 0, 3, 1]])
        after = head(tokens)
        torch.testing.assert_close(after, before)
        torch.testing.assert_close(head(tokens.flip(1)), before)  # nor on the patch order


def test_residual_block_with_a_silenced_branch_is_the_identity() -> None:
    torch.manual_seed(0)
    block = ResidualBlock(dim=8, dropout=0.0)
    with torch.no_grad():
        block.fc2.weight.zero_()
        block.fc2.bias.zero_()
        x = torch.randn(3, 8)
        torch.testing.assert_close(block(x), x, rtol=0, atol=0)
