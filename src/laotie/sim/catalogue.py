"""What the demo world holds: its people, shops, products and first orders, as plain data.

Prices are CNY fen. A SKU's `earlier_prices` are the regular prices it had before the
current one, oldest first, so that product pages have a price history to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from laotie.accounts.permissions import Role
from laotie.orders.schemas import AddressIn
from laotie.supply.schemas import FactoryIn, PriceTier

DEMO_DOMAIN = "example.com"


@dataclass(frozen=True)
class DemoPerson:
    """A demo account."""

    email: str
    name: str
    roles: frozenset[Role]

    @property
    def role_label(self) -> str:
        """Return the role a sign-in table shows for this person."""
        for role in (Role.OPERATOR, Role.SELLER, Role.BUYER):
            if role in self.roles:
                return str(role)
        return ", ".join(sorted(self.roles))


@dataclass(frozen=True)
class DemoSku:
    """A variant with its current price, units on hand and price history."""

    attributes: dict[str, str]
    price_minor: int
    stock: int
    per_buyer_limit: int | None = None
    earlier_prices: tuple[int, ...] = ()

    @property
    def prices(self) -> tuple[int, ...]:
        """Return every regular price of the SKU, oldest first, the current one last."""
        return (*self.earlier_prices, self.price_minor)


@dataclass(frozen=True)
class DemoProduct:
    """A product, and how its picture tile looks."""

    key: str
    title: str
    category: str
    description: str
    glyph: str
    label: str
    colour: str
    skus: tuple[DemoSku, ...]

    @property
    def image_name(self) -> str:
        """Return the file name of the product's picture under `/static/demo/`."""
        return f"{self.key}.svg"


@dataclass(frozen=True)
class DemoShop:
    """A seller's shop with its listing."""

    name: str
    description: str
    deposit_minor: int
    seller: DemoPerson
    products: tuple[DemoProduct, ...]


@dataclass(frozen=True)
class DemoLine:
    """A product variant and how many of it."""

    product: str
    attributes: dict[str, str]
    quantity: int = 1


@dataclass(frozen=True)
class DemoOrder:
    """An order a buyer paid `paid_ago` before seeding, and how far it has since gone."""

    buyer: str
    lines: tuple[DemoLine, ...]
    paid_ago: timedelta
    state: str  # paid | shipped | delivered | completed
    carrier: str = "SF Express"
    tracking_no: str = field(default="")


def _person(local: str, name: str, *roles: Role) -> DemoPerson:
    return DemoPerson(f"{local}@{DEMO_DOMAIN}", name, frozenset(roles))


OPERATOR = _person("operator", "Platform operator", Role.OPERATOR)

BUYERS = (
    _person("buyer1", "Xiao Ming 小明", Role.BUYER),
    _person("buyer2", "Li Na 李娜", Role.BUYER),
    _person("buyer3", "Zhang Wei 张伟", Role.BUYER),
    _person("buyer4", "Liu Yang 刘洋", Role.BUYER),
    _person("buyer5", "Huang Mei 黄梅", Role.BUYER),
)

TEA_HOUSE = DemoShop(
    name="老铁茶庄 Old Iron Tea House",
    description=(
        "Yunnan pu'er, West Lake longjing and Fuding white tea from families we have bought "
        "from for twenty years, and the teaware to brew them. Brewed live every evening."
    ),
    deposit_minor=500_000,
    seller=_person("teahouse", "Chen Mingyu 陈明宇", Role.SELLER, Role.ANCHOR),
    products=(
        DemoProduct(
            key="tea-puer-cake",
            title="云南普洱 Yunnan pu'er cake 357 g",
            category="food",
            description=(
                "Stone-pressed cake of Menghai large-leaf tea. The raw (生) cake is bright "
                "and floral and will keep ageing; the ripe (熟) cake is earthy and smooth. "
                "Break off 7 g, rinse once, then steep 10 s and lengthen each infusion."
            ),
            glyph="普",
            label="PU'ER",
            colour="#7a4b2a",
            skus=(
                DemoSku(
                    {"type": "raw 生", "vintage": "2019"},
                    16_800,
                    40,
                    earlier_prices=(16_800, 14_800),
                ),
                DemoSku({"type": "ripe 熟", "vintage": "2016"}, 22_800, 25, per_buyer_limit=3),
            ),
        ),
        DemoProduct(
            key="tea-longjing",
            title="西湖龙井 West Lake longjing, spring harvest",
            category="food",
            description=(
                "Pan-fired by hand in Meijiawu before Qingming. Chestnut aroma, sweet "
                "finish. Brew at 80 °C in a glass; the leaves stand up as they open."
            ),
            glyph="龙",
            label="LONGJING",
            colour="#5b8c3a",
            skus=(
                DemoSku({"weight": "100 g"}, 26_800, 30),
                DemoSku({"weight": "250 g"}, 59_800, 12, per_buyer_limit=2),
            ),
        ),
        DemoProduct(
            key="tea-white-peony",
            title="福鼎白茶 Fuding white peony 白牡丹 200 g",
            category="food",
            description="Sun-withered buds and two leaves, pressed into a loose brick. Honeyed.",
            glyph="白",
            label="WHITE TEA",
            colour="#b9a46a",
            skus=(DemoSku({"weight": "200 g"}, 12_800, 50),),
        ),
        DemoProduct(
            key="tea-yixing-teapot",
            title="宜兴紫砂壶 Yixing zisha clay teapot 200 ml",
            category="home",
            description=(
                "Thrown and beaten by hand from Huanglongshan ore; each pot is signed on the "
                "base. Keep one pot for one kind of tea."
            ),
            glyph="壶",
            label="TEAPOT",
            colour="#8e3b2e",
            skus=(
                DemoSku({"clay": "purple 紫泥"}, 38_800, 8, per_buyer_limit=1),
                DemoSku({"clay": "red 朱泥"}, 45_800, 5, per_buyer_limit=1),
            ),
        ),
        DemoProduct(
            key="tea-celadon-cups",
            title="青瓷品茗杯 Celadon tasting cups, set of 6",
            category="home",
            description="Longquan celadon, 60 ml each, in a cloth-covered gift box.",
            glyph="杯",
            label="CUPS",
            colour="#5f9c8f",
            skus=(
                DemoSku({"colour": "plum green"}, 9_900, 20),
                DemoSku({"colour": "ivory"}, 9_900, 15),
            ),
        ),
        DemoProduct(
            key="tea-kettle",
            title="智能恒温壶 Temperature-control tea kettle 1 L",
            category="electronics",
            description=(
                "Holds water at 70, 80, 85 or 95 °C for the right tea. 1,500 W, auto "
                "shut-off, stainless steel inside."
            ),
            glyph="温",
            label="KETTLE",
            colour="#44515e",
            skus=(
                DemoSku({"colour": "white"}, 19_900, 30, earlier_prices=(23_900,)),
                DemoSku({"colour": "black"}, 19_900, 18, earlier_prices=(23_900,)),
            ),
        ),
    ),
)

JADE_PAVILION = DemoShop(
    name="翠玉轩 Jade Pavilion",
    description=(
        "Burmese jadeite and Hetian nephrite, every stone with an independent appraisal "
        "certificate and filmed live under the torch. 15 days to have it appraised yourself."
    ),
    deposit_minor=2_000_000,
    seller=_person("jade", "Lin Xiaoyu 林晓雨", Role.SELLER, Role.ANCHOR),
    products=(
        DemoProduct(
            key="jade-bangle",
            title="缅甸翡翠手镯 Burmese jadeite bangle, type A, certified",
            category="jade",
            description=(
                "Untreated (type A) jadeite, icy texture with floating green. Certificate "
                "number engraved inside. Measure your knuckle: the size is the inner diameter."
            ),
            glyph="镯",
            label="BANGLE",
            colour="#2f8f6b",
            skus=(
                DemoSku({"inner diameter": "54 mm"}, 128_000, 2, per_buyer_limit=1),
                DemoSku({"inner diameter": "56 mm"}, 128_000, 3, per_buyer_limit=1),
                DemoSku({"inner diameter": "58 mm"}, 138_000, 2, per_buyer_limit=1),
            ),
        ),
        DemoProduct(
            key="jade-peace-buckle",
            title="和田玉平安扣 Hetian jade peace-buckle pendant",
            category="jade",
            description="A round 'safe and sound' buckle on a hand-knotted red cord, 20 mm.",
            glyph="安",
            label="PENDANT",
            colour="#9fb8a0",
            skus=(
                DemoSku({"stone": "mutton-fat white"}, 36_800, 10),
                DemoSku({"stone": "celadon"}, 29_800, 12),
            ),
        ),
        DemoProduct(
            key="jade-pearl-necklace",
            title="淡水珍珠项链 Freshwater pearl necklace 7–8 mm",
            category="jade",
            description="Near-round Zhuji pearls with a strong lustre, 925 silver clasp.",
            glyph="珠",
            label="PEARLS",
            colour="#b8a9c9",
            skus=(
                DemoSku({"length": "45 cm"}, 59_900, 10, earlier_prices=(49_900,)),
                DemoSku({"length": "50 cm"}, 65_900, 6, earlier_prices=(55_900,)),
            ),
        ),
        DemoProduct(
            key="jade-earrings",
            title="925银翡翠耳坠 Sterling silver & jadeite drop earrings",
            category="jade",
            description="Two matched jadeite drops on hypoallergenic sterling silver hooks.",
            glyph="坠",
            label="EARRINGS",
            colour="#3e7f74",
            skus=(DemoSku({}, 26_800, 9),),
        ),
        DemoProduct(
            key="jade-gua-sha",
            title="岫玉刮痧板 Xiuyan jade gua sha board",
            category="beauty",
            description="Polished Xiuyan jade for a cooling facial massage; a pouch included.",
            glyph="刮",
            label="GUA SHA",
            colour="#6aa37c",
            skus=(
                DemoSku({"shape": "heart"}, 6_800, 60),
                DemoSku({"shape": "wing"}, 6_800, 45),
            ),
        ),
        DemoProduct(
            key="jade-face-roller",
            title="玉石滚轮 Jade face roller",
            category="beauty",
            description="Double-ended roller, silent brass frame. Keep it in the fridge.",
            glyph="滚",
            label="ROLLER",
            colour="#4f9a6e",
            skus=(DemoSku({}, 8_800, 40, earlier_prices=(9_800,)),),
        ),
    ),
)

JIANGNAN_ATELIER = DemoShop(
    name="江南衣坊 Jiangnan Atelier",
    description=(
        "Silk and linen cut and sewn in Hangzhou. Qipao in standard sizes, taken in or let "
        "out for free within 7 days of delivery."
    ),
    deposit_minor=500_000,
    seller=_person("fashion", "Zhou Wanqing 周婉清", Role.SELLER, Role.ANCHOR),
    products=(
        DemoProduct(
            key="fashion-qipao",
            title="真丝改良旗袍 Silk modern qipao",
            category="apparel",
            description=(
                "19 momme mulberry silk, knee length, hand-knotted pankou buttons. "
                "S fits bust 84 cm, M 88 cm, L 92 cm."
            ),
            glyph="旗",
            label="QIPAO",
            colour="#2b4a7e",
            skus=tuple(
                DemoSku({"colour": colour, "size": size}, 69_900, units)
                for colour in ("ink blue", "peony red")
                for size, units in (("S", 4), ("M", 6), ("L", 3))
            ),
        ),
        DemoProduct(
            key="fashion-linen-shirt",
            title="亚麻衬衫 Washed linen shirt",
            category="apparel",
            description="Stone-washed linen, relaxed fit, mother-of-pearl buttons.",
            glyph="麻",
            label="LINEN",
            colour="#a89a7c",
            skus=tuple(
                DemoSku({"colour": colour, "size": size}, 15_900, 12, earlier_prices=(19_900,))
                for colour in ("white", "oat")
                for size in ("M", "L", "XL")
            ),
        ),
        DemoProduct(
            key="fashion-cashmere-scarf",
            title="羊绒围巾 Inner Mongolia cashmere scarf 180×30 cm",
            category="apparel",
            description="Two-ply 100% cashmere from Alashan goats, brushed soft, fringed ends.",
            glyph="绒",
            label="CASHMERE",
            colour="#8a5a44",
            skus=(
                DemoSku({"colour": "camel"}, 29_900, 20, earlier_prices=(29_900, 25_900)),
                DemoSku({"colour": "charcoal grey"}, 29_900, 15, earlier_prices=(29_900, 25_900)),
                DemoSku({"colour": "burgundy"}, 29_900, 10),
            ),
        ),
        DemoProduct(
            key="fashion-down-jacket",
            title="轻薄羽绒服 Packable down jacket, 90% duck down",
            category="apparel",
            description="Folds into its own pocket; 650 fill power; water-repellent shell.",
            glyph="羽",
            label="DOWN",
            colour="#27313d",
            skus=tuple(
                DemoSku({"colour": colour, "size": size}, 39_900, 8)
                for colour in ("black", "navy")
                for size in ("M", "L")
            ),
        ),
        DemoProduct(
            key="fashion-embroidered-shoes",
            title="手工绣花布鞋 Hand-embroidered cloth shoes",
            category="apparel",
            description="Layered cotton soles stitched by hand in Suzhou, peony embroidery.",
            glyph="鞋",
            label="SHOES",
            colour="#b0413e",
            skus=tuple(
                DemoSku({"size": str(size)}, 12_900, 6, per_buyer_limit=2)
                for size in (36, 37, 38, 39)
            ),
        ),
        DemoProduct(
            key="fashion-silk-pillowcase",
            title="蚕丝枕套 Mulberry silk pillowcase, 22 momme",
            category="home",
            description="Hidden zip, 48×74 cm, kind to hair and skin. Wash cold by hand.",
            glyph="丝",
            label="SILK",
            colour="#c7a27c",
            skus=(
                DemoSku({"colour": "champagne"}, 16_900, 25),
                DemoSku({"colour": "silver grey"}, 16_900, 25),
            ),
        ),
    ),
)

SNACK_SHOP = DemoShop(
    name="川妹子零食铺 Sichuan Sister Snacks",
    description=(
        "Spicy, numbing and sweet: snacks from Chengdu, Liuzhou, Wuhan and Xinjiang, "
        "shipped the day you order."
    ),
    deposit_minor=300_000,
    seller=_person("snacks", "Wang Lili 王丽丽", Role.SELLER, Role.ANCHOR),
    products=(
        DemoProduct(
            key="snack-luosifen",
            title="柳州螺蛳粉 Liuzhou river-snail rice noodles, 5 packs",
            category="food",
            description=(
                "The famous pungent broth with pickled bamboo shoot, peanuts and fried "
                "tofu skin. Ready in 8 minutes. Open a window."
            ),
            glyph="螺",
            label="LUOSIFEN",
            colour="#c0562b",
            skus=(
                DemoSku({"flavour": "classic"}, 4_990, 200, per_buyer_limit=10),
                DemoSku({"flavour": "extra spicy"}, 4_990, 150, per_buyer_limit=10),
            ),
        ),
        DemoProduct(
            key="snack-beef-jerky",
            title="麻辣牛肉干 Sichuan spicy beef jerky 250 g",
            category="food",
            description="Air-dried yellow-cattle beef with Hanyuan peppercorn and chilli.",
            glyph="牛",
            label="JERKY",
            colour="#9c2f22",
            skus=(
                DemoSku({"heat": "mild"}, 5_980, 80, earlier_prices=(5_980, 4_980)),
                DemoSku({"heat": "numbing hot 麻辣"}, 5_980, 90, earlier_prices=(5_980, 4_980)),
            ),
        ),
        DemoProduct(
            key="snack-jujubes",
            title="新疆若羌灰枣 Xinjiang Ruoqiang grey jujubes",
            category="food",
            description="Sun-dried on the tree in the Tarim basin: thin skin, dense and sweet.",
            glyph="枣",
            label="JUJUBES",
            colour="#8b2d2d",
            skus=(
                DemoSku({"weight": "500 g"}, 2_990, 120),
                DemoSku({"weight": "1 kg"}, 4_990, 100),
            ),
        ),
        DemoProduct(
            key="snack-duck-necks",
            title="卤鸭脖 Braised duck necks, Wuhan style",
            category="food",
            description="Slow-braised in a spiced master stock; vacuum-packed, keeps 30 days.",
            glyph="鸭",
            label="DUCK",
            colour="#a0522d",
            skus=(
                DemoSku({"weight": "200 g"}, 2_590, 100),
                DemoSku({"weight": "500 g"}, 5_990, 60),
            ),
        ),
        DemoProduct(
            key="snack-mooncakes",
            title="广式月饼礼盒 Cantonese mooncake gift box, 8 pieces",
            category="food",
            description="Thin golden crust, baked in Guangzhou the week you order.",
            glyph="月",
            label="MOONCAKE",
            colour="#c99a2e",
            skus=(
                DemoSku({"filling": "lotus seed & egg yolk"}, 16_800, 40, per_buyer_limit=5),
                DemoSku({"filling": "five nuts"}, 14_800, 40, per_buyer_limit=5),
            ),
        ),
        DemoProduct(
            key="snack-latiao",
            title="手工辣条 Hand-made spicy gluten strips 辣条, 12 packs",
            category="food",
            description="The schoolyard favourite, made with rapeseed oil and no colouring.",
            glyph="辣",
            label="LATIAO",
            colour="#d13b2a",
            skus=(DemoSku({}, 1_990, 300, earlier_prices=(2_490,)),),
        ),
    ),
)

SHOPS = (TEA_HOUSE, JADE_PAVILION, JIANGNAN_ATELIER, SNACK_SHOP)

# The tea house's partner kiln: it makes the teapots the live show's campaign offers.
KILN_OWNER = _person("kiln", "Master Gu 顾师傅", Role.FACTORY)
KILN = FactoryIn(
    name="宜兴紫砂工坊 Yixing Clay Works",
    description="Hand-thrown zisha teapots from Dingshu town clay, three generations.",
    city="Yixing",
    categories=["home"],
    moq=30,
    lead_time_days=20,
    weekly_capacity=60,
    price_tiers=[
        PriceTier(min_quantity=30, unit_price_minor=16_000),
        PriceTier(min_quantity=80, unit_price_minor=13_500),
    ],
)
# What the show's anchor offers made to order: retail tiers by what the room commits.
SHOW_CAMPAIGN = {
    "title": "Gu's zisha teapot, spring kiln",
    "description": "Thrown for this room only. 30 commitments fire the kiln; 80 lower the price.",
    "category": "home",
    "options": {"clay": ["紫泥 purple", "朱泥 red"], "size": ["200 ml", "300 ml"]},
    "price_tiers": [
        {"min_quantity": 30, "unit_price_minor": 39_800},
        {"min_quantity": 80, "unit_price_minor": 32_800},
    ],
    "moq": 30,
    # Its deposits returned double take ¥3,184 of the tea house's ¥5,000 security deposit,
    # leaving the anchor room to open another campaign from the console.
    "cap_units": 80,
    "deposit_bps": 1_000,
}
SHOW_CAMPAIGN_DAYS = 3

# An anchor without a shop, who sells the pool's products on her own word.
AFFILIATE_ANCHOR = _person("mei", "Xiao Mei 小美", Role.ANCHOR)


@dataclass(frozen=True)
class DemoOffer:
    """A shop's product in the selection pool, and whether it approves anchors itself."""

    product_key: str
    commission_bps: int
    auto_approve: bool = False
    flash_sales: bool = False


POOL_OFFERS = (
    DemoOffer("tea-yixing-teapot", 1_200, flash_sales=True),
    DemoOffer("tea-celadon-cups", 1_000, auto_approve=True),
    DemoOffer("jade-gua-sha", 1_800),
    DemoOffer("snack-mooncakes", 1_500, auto_approve=True, flash_sales=True),
    DemoOffer("fashion-silk-pillowcase", 2_000),
)
AFFILIATE_SHOW_TITLE = "小美的好物 Mei's picks: teaware and mooncakes"

PEOPLE = (OPERATOR, *(shop.seller for shop in SHOPS), KILN_OWNER, AFFILIATE_ANCHOR, *BUYERS)

PRODUCTS = tuple(product for shop in SHOPS for product in shop.products)

ORDERS = (
    DemoOrder(
        BUYERS[0].email,
        (DemoLine("tea-puer-cake", {"type": "raw 生", "vintage": "2019"}, 2),),
        timedelta(hours=1),
        "paid",
    ),
    DemoOrder(
        BUYERS[1].email,
        (DemoLine("jade-bangle", {"inner diameter": "56 mm"}),),
        timedelta(hours=3),
        "paid",
    ),
    DemoOrder(
        BUYERS[2].email,
        (
            DemoLine("fashion-qipao", {"colour": "ink blue", "size": "M"}),
            DemoLine("fashion-linen-shirt", {"colour": "oat", "size": "L"}),
        ),
        timedelta(hours=5),
        "paid",
    ),
    DemoOrder(
        BUYERS[1].email,
        (DemoLine("snack-mooncakes", {"filling": "lotus seed & egg yolk"}, 2),),
        timedelta(hours=2),
        "paid",
    ),
    DemoOrder(
        BUYERS[3].email,
        (
            DemoLine("snack-luosifen", {"flavour": "extra spicy"}, 3),
            DemoLine("snack-beef-jerky", {"heat": "numbing hot 麻辣"}),
        ),
        timedelta(hours=30),
        "shipped",
        tracking_no="SF1400021873",
    ),
    DemoOrder(
        BUYERS[4].email,
        (DemoLine("fashion-cashmere-scarf", {"colour": "burgundy"}),),
        timedelta(days=4),
        "delivered",
        carrier="ZTO Express",
        tracking_no="ZTO7731902455",
    ),
    DemoOrder(
        BUYERS[0].email,
        (DemoLine("tea-yixing-teapot", {"clay": "purple 紫泥"}),),
        timedelta(days=12),
        "completed",
        tracking_no="SF1399847120",
    ),
)


# Where the demo people live: cities of every tier (GB/T 2260 codes), one address each.
DEMO_ADDRESSES: tuple[tuple[str, str, str | None, str], ...] = (
    ("310000", "310000", "310104", "漕溪北路 88 号"),  # 上海 徐汇区: first tier
    ("330000", "330100", "330106", "文三路 90 号"),  # 杭州 西湖区: new first tier
    ("510000", "510100", "510107", "人民南路四段 12 号"),  # 成都 武侯区: new first tier
    ("350000", "350200", "350203", "思明南路 422 号"),  # 厦门 思明区: second tier
    ("360000", "360400", "360402", "浔阳东路 6 号"),  # 九江 濂溪区: third tier and below
    ("440000", "441900", None, "东城大道 200 号"),  # 东莞: a city without districts
)


def demo_address(recipient: str, index: int, phone: str, street: str | None = None) -> AddressIn:
    """A default shipping address in the demo's cities, the `index`-th of them round the list."""
    province, city, district, default_street = DEMO_ADDRESSES[index % len(DEMO_ADDRESSES)]
    return AddressIn(
        recipient=recipient[:40],
        phone=phone,
        province_code=province,
        city_code=city,
        district_code=district,
        street=street or default_street,
        is_default=True,
    )


# Freight of the demo shops: flat fee, free to nearby provinces, not to the far west.
DEMO_FREIGHT = {
    "default": {"mode": "flat", "amount_minor": 800},
    "provinces": {
        "330000": {"mode": "free", "amount_minor": 0},
        "310000": {"mode": "free", "amount_minor": 0},
        "320000": {"mode": "free", "amount_minor": 0},
        "540000": {"mode": "not_delivered", "amount_minor": 0},
        "650000": {"mode": "per_unit", "amount_minor": 1_500},
    },
}
