from tests.selfreport.invited import treated

__all__ = ["treated"]
