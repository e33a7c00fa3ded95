"""The story series (典型案例 and 先进事迹): drafting, publication as 第N期, public pages, feed."""
