"""China's provincial-level divisions, by the short names people write on forms.

The in/out-of-province rule of the new-student grant compares a student's household province with the
university's, so both must be spelt the same way: we store the short name and accept the long one.
"""

from __future__ import annotations

PROVINCES: dict[str, str] = {
    "北京": "北京市",
    "天津": "天津市",
    "河北": "河北省",
    "山西": "山西省",
    "内蒙古": "内蒙古自治区",
    "辽宁": "辽宁省",
    "吉林": "吉林省",
    "黑龙江": "黑龙江省",
    "上海": "上海市",
    "江苏": "江苏省",
    "浙江": "浙江省",
    "安徽": "安徽省",
    "福建": "福建省",
    "江西": "江西省",
    "山东": "山东省",
    "河南": "河南省",
    "湖北": "湖北省",
    "湖南": "湖南省",
    "广东": "广东省",
    "广西": "广西壮族自治区",
    "海南": "海南省",
    "重庆": "重庆市",
    "四川": "四川省",
    "贵州": "贵州省",
    "云南": "云南省",
    "西藏": "西藏自治区",
    "陕西": "陕西省",
    "甘肃": "甘肃省",
    "青海": "青海省",
    "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区",
    "香港": "香港特别行政区",
    "澳门": "澳门特别行政区",
    "台湾": "台湾省",
}
_BY_LONG = {long: short for short, long in PROVINCES.items()}


def normalize_province(name: str) -> str | None:
    """The short name for a short or long provincial name, or None when it is not one."""
    name = name.strip()
    if name in PROVINCES:
        return name
    return _BY_LONG.get(name)
